using System.CommandLine;
using MSaaS.Cli;

using var shutdown = new ShutdownSignal();
// Signals are the commands' own (ShutdownSignal): System.CommandLine's handling would end a service 2 s after SIGTERM.
return await MsaasCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, shutdown.Token);
