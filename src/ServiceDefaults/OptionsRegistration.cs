using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MSaaS.ServiceDefaults;

public static class OptionsRegistration
{
    /// <summary>
    /// Binds the configuration section <paramref name="section"/> to <typeparamref name="T"/> and checks it when the
    /// host starts (data annotations, and <see cref="IValidatableObject"/>): a bad setting stops the process at once,
    /// with a line naming the setting ("Separation:Threads: ..."), instead of failing the first song. A key the class
    /// does not have (a misspelt setting) stops it too.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section) where T : class
    {
        if (!services.Any(d => d.ImplementationInstance is BoundSection bound && bound.Name == section))
            services.AddSingleton(new BoundSection(section, typeof(T)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>>(new SectionValidator<T>(section)));
        return services.AddOptions<T>().BindConfiguration(section, binder => binder.ErrorOnUnknownConfiguration = true).ValidateOnStart();
    }

    /// <summary>Checks one options object: every failure as "Section:Member: message".</summary>
    private sealed class SectionValidator<T>(string section) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            if (name != Options.DefaultName) return ValidateOptionsResult.Skip;
            var results = new List<ValidationResult>();
            if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
                return ValidateOptionsResult.Success;
            return ValidateOptionsResult.Fail(results.Select(r =>
                $"{section}:{string.Join(", ", r.MemberNames.DefaultIfEmpty("*"))}: {r.ErrorMessage}"));
        }
    }
}

/// <summary>A configuration section some part of the process binds, and the class it binds to.</summary>
public sealed record BoundSection(string Name, Type OptionsType);
