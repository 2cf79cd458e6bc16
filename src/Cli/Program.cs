using MSaaS.Cli;

return await MsaasCommand.Create().Parse(args).InvokeAsync();
