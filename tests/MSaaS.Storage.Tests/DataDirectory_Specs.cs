namespace MSaaS.Storage.Tests;

/// <summary>The default data directory follows the XDG Base Directory rules and never names the working directory.</summary>
public sealed class DataDirectory_Specs
{
    private static string Resolve(string? xdg, string? home, string? profile = null) =>
        DataDirectory.Resolve(name => name switch { "XDG_DATA_HOME" => xdg, "HOME" => home, _ => null }, profile);

    [Fact]
    public void Should_use_XDG_DATA_HOME_when_it_is_absolute() =>
        Assert.Equal("/data/x/msaas", Resolve("/data/x", "/home/u"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("relative/data")] // the rules say a relative path is to be ignored
    public void Should_fall_back_to_the_home_directory(string? xdg) =>
        Assert.Equal("/home/u/.local/share/msaas", Resolve(xdg, "/home/u"));

    [Fact]
    public void Should_use_the_user_profile_when_HOME_is_unset() =>
        Assert.Equal("/var/lib/svc/.local/share/msaas", Resolve(null, null, "/var/lib/svc"));

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "")]
    [InlineData("rel", "also-relative")]
    public void Should_have_none_rather_than_the_working_directory(string? home, string? profile) =>
        Assert.Equal("", Resolve(null, home, profile));

    [Fact]
    public void Should_refuse_a_local_store_without_a_directory()
    {
        var options = new StorageOptions { Root = "" };
        var errors = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).ToList();
        Assert.Contains(errors, e => e.ErrorMessage!.Contains("XDG_DATA_HOME or HOME", StringComparison.Ordinal));
    }
}
