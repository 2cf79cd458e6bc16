using Microsoft.Extensions.Options;

namespace MSaaS.ServiceDefaults;

/// <summary>Turns the exceptions a bad setting raises at start into one line for an operator.</summary>
public static class SettingError
{
    /// <summary>The line, or null when <paramref name="error"/> is not about settings.</summary>
    public static string? Describe(Exception error) => error switch
    {
        OptionsValidationException invalid => "invalid setting: " + string.Join("; ", invalid.Failures),
        AggregateException all when all.InnerExceptions.All(e => Describe(e) is not null) =>
            string.Join("; ", all.InnerExceptions.Select(e => Describe(e))),
        // The binder's own words name the key: "Failed to convert configuration value 'abc' at 'Separation:Threads' to
        // type ...", or the keys that "were not found on the instance of" the options class (a misspelt setting).
        InvalidOperationException bind when bind.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal)
                                            || bind.Message.Contains("properties were not found on the instance of", StringComparison.Ordinal) =>
            "invalid setting: " + bind.Message,
        _ => null,
    };
}
