using StackExchange.Redis;

namespace MSaaS.Testing;

/// <summary>The Redis that `./msaas test` starts on 127.0.0.1 (MSAAS_REDIS_ENDPOINT); specs that need it fail, never skip, without it.</summary>
internal static class TestRedis
{
    public static ConnectionMultiplexer Connect()
    {
        var address = Environment.GetEnvironmentVariable("MSAAS_REDIS_ENDPOINT");
        if (string.IsNullOrEmpty(address))
            throw new InvalidOperationException("MSAAS_REDIS_ENDPOINT is not set: run the tests with ./msaas test, or ./msaas services up and eval \"$(./msaas services env)\"");
        return ConnectionMultiplexer.Connect(address + ",abortConnect=false,connectTimeout=2000");
    }
}
