using Microsoft.Playwright;

namespace MSaaS.Web.Tests;

/// <summary>
/// Debian's chromium, headless, driven by Playwright. Playwright's own browser download cannot work on a closed
/// network, so the test needs the package: without it the test fails with a line saying so (it never skips).
/// </summary>
internal static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        Assert.True(File.Exists(ExecutablePath),
            $"{ExecutablePath} is missing: the browser tests need Debian's chromium (apt-get install chromium; eng/test.sh installs it)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // --no-sandbox: CI runs as root. The rest keep Chromium from calling out on a closed network, and let the
            // page start audio without a gesture of a real person.
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--autoplay-policy=no-user-gesture-required",
            ],
        });
        return (playwright, browser);
    }
}
