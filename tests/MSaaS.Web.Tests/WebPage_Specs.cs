using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Api.Clients;
using MSaaS.Audio;
using MSaaS.Cli;
using MSaaS.Storage;
using MSaaS.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace MSaaS.Web.Tests;

/// <summary>
/// The web page end to end, as a person uses it, in headless Chromium against the embedded service (the real model,
/// encoder and mixer): a refused file, the synthetic song sent with the file input and followed to the end, the four
/// stems played with one transport, a stem muted and soloed, a stem and two mixes downloaded and decoded, the page
/// at phone width, a reload, the support view with its key, a failing song retried from it, and the song removed; and
/// a longer song played while it is separated, waiting for the separation, and done; and, where the service needs a
/// client's key, the page signed in with one, used, and signed out when the client is removed. Each step is photographed into
/// screenshots/ beside the test binaries (docs/ui/ shows the last run's).
/// </summary>
[Trait("Category", "Model")]
[Trait("Category", "Browser")]
public sealed class WebPage_Specs(ITestOutputHelper output) : IAsyncLifetime
{
    private const string SupportKey = "support-key-for-the-browser-test";
    private static readonly string Shots = Path.Combine(AppContext.BaseDirectory, "screenshots");

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-web-");
    private readonly List<string> _errors = [];
    private Microsoft.AspNetCore.Builder.WebApplication _app = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private string _url = "";

    public async Task InitializeAsync()
    {
        _app = await Serve(new() { ["Storage:Root"] = Path.Combine(_work.FullName, "store"), ["Api:SupportApiKey"] = SupportKey });
        _url = _app.Urls.First();
        (_playwright, _browser) = await Chromium.LaunchAsync();
        Directory.CreateDirectory(Shots);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task Should_separate_play_mix_download_and_remove_a_song_and_show_support_its_history()
    {
        var song = Path.Combine(_work.FullName, "synthetic-song.mp3");
        File.Copy((await TestData.Song).Mp3, song);
        var hash = SongHash.Of(await File.ReadAllBytesAsync(song));
        var length = (await new FfmpegDecoder().DecodeAsync(song)).Length;
        using var http = new HttpClient { BaseAddress = new Uri(_url) };

        await using var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1100, Height = 800 },
            AcceptDownloads = true,
        });
        var page = await Open(context, "/");
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-max-bytes", (440L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(page.Locator("#limit")).ToHaveTextAsync("440 MiB");
        await Shot(page, "01-home");

        // A file that is not audio is refused with the service's own reason.
        var bad = Path.Combine(_work.FullName, "notes.mp3");
        await File.WriteAllTextAsync(bad, "these are notes about a song, not a song");
        var reason = await Refusal(http, bad);
        await page.Locator("#file").SetInputFilesAsync(bad);
        await Expect(page.Locator("#upload-status")).ToHaveTextAsync($"notes.mp3 was refused: {reason}.");

        // Sent with the file input, then followed: queued or separating with percent and time left, then done.
        var clock = Stopwatch.StartNew();
        await page.Locator("#file").SetInputFilesAsync(song);
        await page.WaitForURLAsync($"**/#/song/{hash}");
        await Expect(page.Locator("#song-title")).ToHaveTextAsync("synthetic-song.mp3");
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync(new Regex(@"^Separating: \d+ %, about \d+:\d\d left\.$"), new() { Timeout = 180_000 });
        await Shot(page, "02-separating");
        // A reload on the way picks the song up where it is.
        await page.ReloadAsync();
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync(new Regex(@"^(Separating: [1-9]\d* %|Encoding|Done)"));
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync("Done.", new() { Timeout = 300_000 });
        await Expect(page.Locator("#player")).ToBeVisibleAsync();
        output.WriteLine($"sent to playable in the browser: {clock.Elapsed.TotalSeconds:F1} s");
        await Expect(page.Locator("#my-songs li")).ToHaveTextAsync(new Regex("synthetic-song.mp3.*done"));

        // Played: the audio clock and the transport's position advance.
        await page.Locator("#play").ClickAsync();
        await Expect(page.Locator("#play")).ToHaveTextAsync("Pause");
        var (time0, position0) = (await Eval<double>(page, "msaas.player.context.currentTime"), await Eval<double>(page, "msaas.player.position"));
        await page.WaitForTimeoutAsync(1500);
        var (time1, position1) = (await Eval<double>(page, "msaas.player.context.currentTime"), await Eval<double>(page, "msaas.player.position"));
        Assert.True(time1 - time0 > 1, $"the audio clock moved {time1 - time0:F2} s in 1.5 s");
        Assert.True(position1 - position0 > 1, $"the position moved {position1 - position0:F2} s in 1.5 s");
        Assert.Equal("running", await Eval<string>(page, "msaas.player.context.state"));
        Assert.Equal(length / 44_100.0, await Eval<double>(page, "msaas.player.duration"), 0.05);

        // The waveform seeks from the keyboard.
        await page.Locator("#wave").FocusAsync();
        await page.Keyboard.PressAsync("Home");
        Assert.InRange(await Eval<double>(page, "msaas.player.position"), 0, 1);
        await page.Keyboard.PressAsync("ArrowRight");
        Assert.InRange(await Eval<double>(page, "msaas.player.position"), 5, 7);
        await Shot(page, "03-playing");

        // Vocals muted: their gain goes to 0, the others stay at 1, and "mix as set" follows.
        var mute = page.GetByRole(AriaRole.Button, new() { Name = "Mute vocals" });
        await mute.ClickAsync();
        await Expect(mute).ToHaveAttributeAsync("aria-pressed", "true");
        await page.WaitForFunctionAsync("() => msaas.player.stems.find(s => s.name === 'vocals').gain.gain.value < 0.001");
        Assert.Equal([1, 1, 1, 0], await Gains(page), new Tolerance(0.001));
        // Solo drums: only they are heard; solo off: back to vocals muted.
        var solo = page.GetByRole(AriaRole.Button, new() { Name = "Solo drums" });
        await solo.ClickAsync();
        await page.WaitForFunctionAsync("() => msaas.player.stems.filter(s => s.name !== 'drums').every(s => s.gain.gain.value < 0.001)");
        Assert.Equal([1, 0, 0, 0], await Gains(page), new Tolerance(0.001));
        await solo.ClickAsync();
        // Bass up from the keyboard: four steps of 5 %.
        await page.GetByRole(AriaRole.Slider, new() { Name = "Bass volume" }).FocusAsync();
        for (var i = 0; i < 4; i++) await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.Locator("li[data-stem='bass'] output")).ToHaveTextAsync("120 %");
        await page.WaitForFunctionAsync("() => Math.abs(msaas.player.stems.find(s => s.name === 'bass').gain.gain.value - 1.2) < 0.001");
        Assert.Equal([1, 1.2, 1, 0], await Gains(page), new Tolerance(0.001));
        await Expect(page.Locator("#mix-current")).ToHaveAttributeAsync("href", $"/apiv1/mix/{hash}?drums=1&bass=1.2&other=1&vocals=0");
        await page.Locator("#play").ClickAsync();
        await Expect(page.Locator("#play")).ToHaveTextAsync("Play");
        await Shot(page, "04-mixing");

        // Downloads: a stem, the instrumental and the mix as set, each an MP3 of the song's length.
        await Download(page, page.Locator("li[data-stem='drums'] a.download"), "drums.mp3", length);
        await Download(page, page.Locator("#mix-instrumental"), "instrumental.mp3", length);
        await Download(page, page.Locator("#mix-current"), "mix-drums100-bass120-other100-vocals0.mp3", length);
        await Expect(page.Locator("#mix-status")).ToHaveTextAsync("Saved mix-drums100-bass120-other100-vocals0.mp3.");
        // A refusal (here the service's answer when it is making as many mixes as it makes at once) is said on the page,
        // not saved as the mix.
        const string busy = "as many mixes as this service makes at once are being made; try again in a few seconds";
        await page.RouteAsync("**/apiv1/mix/**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 429, ContentType = "application/json", Headers = new Dictionary<string, string> { ["Retry-After"] = "5" },
            Body = JsonSerializer.Serialize(new { reason = busy, status = 429 }),
        }));
        var saved = 0;
        void Counted(object? sender, IDownload e) => saved++;
        page.Download += Counted;
        await page.Locator("#mix-vocals").ClickAsync();
        await Expect(page.Locator("#mix-status")).ToHaveTextAsync($"Vocals alone: not made: {busy}.");
        await Shot(page, "04b-mix-refused");
        await page.UnrouteAsync("**/apiv1/mix/**");
        page.Download -= Counted;
        Assert.Equal(0, saved);
        // Once the service makes mixes again, the same link does.
        await Download(page, page.Locator("#mix-vocals"), "vocals-only.mp3", length);
        await Expect(page.Locator("#mix-status")).ToHaveTextAsync("Saved vocals-only.mp3.");

        // Picked up again after a reload, and at phone width.
        await page.ReloadAsync();
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync("Done.", new() { Timeout = 60_000 });
        await Expect(page.Locator("#player")).ToBeVisibleAsync();
        await using (var phone = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
            StorageState = await context.StorageStateAsync(),
        }))
        {
            var small = await Open(phone, $"/#/song/{hash}");
            await Expect(small.Locator("#player")).ToBeVisibleAsync(new() { Timeout = 60_000 });
            Assert.True(await Eval<bool>(small, "document.documentElement.scrollWidth <= innerWidth"), "the page is wider than a phone");
            var overflowing = await Eval<string[]>(small, "[...document.querySelectorAll('#song *')].filter(e => e.offsetParent && " +
                "e.getBoundingClientRect().right > document.querySelector('#song').getBoundingClientRect().right).map(e => e.id || e.className)");
            Assert.True(overflowing.Length == 0, $"wider than the song's card at phone width: {string.Join(", ", overflowing)}");
            await Shot(small, "05-phone");
        }

        // Where the browser cannot decode the stems (a long song on a phone runs out of memory), they still download.
        var undecodable = await context.NewPageAsync();
        undecodable.PageError += (_, error) => _errors.Add(error);
        await undecodable.RouteAsync("**/apiv1/track/**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 200, ContentType = "audio/mpeg", Body = "not audio at all",
        }));
        await undecodable.GotoAsync($"{_url}/#/song/{hash}");
        await Expect(undecodable.Locator("#song-phase")).ToHaveTextAsync(
            new Regex(@"^Done, but the stems could not be played here \(.+\); they can still be downloaded\.$"), new() { Timeout = 60_000 });
        foreach (var stem in new[] { "drums", "bass", "other", "vocals" })
            await Expect(undecodable.Locator($"li[data-stem='{stem}'] a.download")).ToHaveAttributeAsync("href", $"/apiv1/track/{hash}/{stem}");
        await Expect(undecodable.Locator("#mix-instrumental")).ToBeVisibleAsync();
        await Expect(undecodable.Locator("#mix-instrumental")).ToHaveAttributeAsync("href", $"/apiv1/mix/{hash}?vocals=0");
        await Expect(undecodable.Locator("#play")).ToBeHiddenAsync();
        await Expect(undecodable.Locator("#mix-current")).ToBeHiddenAsync();
        await Shot(undecodable, "05b-downloads-only");
        await undecodable.CloseAsync();

        // Support: a wrong key is refused with the reason; the right one lists the song and its history.
        await page.GotoAsync($"{_url}/#/support");
        await page.GetByLabel("API key").FillAsync("not-the-key-at-all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        await Expect(page.Locator("#support-status")).ToHaveTextAsync("Refused: a valid X-Api-Key header is required.");
        await page.GetByLabel("API key").FillAsync(SupportKey);
        await page.GetByLabel("State").SelectOptionAsync("Completed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        var row = page.Locator("#support-songs tbody tr", new() { HasText = hash[..12] });
        await Expect(row).ToContainTextAsync("Completed");
        await row.GetByRole(AriaRole.Button, new() { Name = "History" }).ClickAsync();
        await Expect(page.Locator("#saga-history")).ToContainTextAsync("Completed");
        await Expect(page.Locator("#saga-facts")).ToContainTextAsync(hash);
        await Shot(page, "06-support");

        // A song that fails shows why, offers nothing to remove, and support tries it again.
        var broken = Path.Combine(_work.FullName, "broken.mp3");
        var noise = new byte[100_000];
        new Random(16).NextBytes(noise);
        await File.WriteAllBytesAsync(broken, [.. "ID3\x04\0\0\0\0\0\0"u8, .. noise]);
        await page.GotoAsync($"{_url}/#/");
        await Expect(page.Locator("#sign-in")).ToBeHiddenAsync(); // the support key's 401 is not the page's sign-in
        await page.Locator("#file").SetInputFilesAsync(broken);
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync(new Regex(@"^Failed in separation: \S.+\.$"), new() { Timeout = 60_000 });
        await Expect(page.Locator("#remove")).ToBeHiddenAsync();
        await page.GotoAsync($"{_url}/#/support");
        await page.GetByLabel("State").SelectOptionAsync("Failed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        var brokenHash = SongHash.Of(await File.ReadAllBytesAsync(broken));
        await page.GetByRole(AriaRole.Button, new() { Name = $"Retry song {brokenHash[..12]}" }).ClickAsync();
        await Expect(page.Locator("#support-status")).ToHaveTextAsync($"Song {brokenHash[..12]}… is being tried again.");

        // Removed: gone from the service and from the browser's list.
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GotoAsync($"{_url}/#/song/{hash}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove this song from the service" }).ClickAsync();
        await Expect(page.Locator("#upload-status")).ToHaveTextAsync("synthetic-song.mp3 was removed from the service.");
        await Expect(page.Locator("#my-songs li", new() { HasText = "synthetic-song.mp3" })).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/apiv1/track/{hash}/drums")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/apiv1/mix/{hash}?vocals=0")).StatusCode);

        Assert.Empty(_errors);
    }

    [Fact]
    public async Task Should_play_a_song_while_it_is_separated_wait_for_the_separation_and_work_as_before_once_done()
    {
        // Long enough that the separation is still going well after playback has started.
        var song = Path.Combine(_work.FullName, "long-song.mp3");
        File.Copy((await TestData.SongOf(60)).Mp3, song);
        var hash = SongHash.Of(await File.ReadAllBytesAsync(song));
        var length = (await new FfmpegDecoder().DecodeAsync(song)).Length;
        await using var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1100, Height = 800 },
            AcceptDownloads = true,
        });
        var page = await Open(context, "/");
        const string separating = "document.querySelector('#song-phase').textContent.startsWith('Separating')";

        // The drums' first live stream is cut off (as when another worker takes the song over): the page starts again.
        var drumsAsked = 0;
        await page.RouteAsync("**/apiv1/live/**", route =>
        {
            if (route.Request.Url.EndsWith("/drums", StringComparison.Ordinal) && ++drumsAsked == 1) return route.AbortAsync();
            return route.ContinueAsync();
        });
        // Playable from the first seconds on, while it is separated: the player streams the live stems.
        var clock = Stopwatch.StartNew();
        await page.Locator("#file").SetInputFilesAsync(song);
        await page.WaitForURLAsync($"**/#/song/{hash}");
        await page.WaitForFunctionAsync($"() => msaas.player?.live && msaas.player.arrived > 0 && {separating}", null, new() { Timeout = 180_000 });
        output.WriteLine($"sent to playable while separating: {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(2, drumsAsked);
        await Expect(page.Locator("#play")).ToBeEnabledAsync();
        await Expect(page.Locator("#arrival")).ToBeVisibleAsync();
        await Expect(page.Locator("#mix-instrumental")).ToBeHiddenAsync(); // the mixes wait for the complete stems
        // The song's length is the file's, as the browser read it when it sent it, until the service knows it.
        await Expect(page.Locator("#time")).ToHaveTextAsync("0:00 / about 1:00");

        // Played while still separating: the audio clock and the position advance, the played bar moves.
        var started = await Eval<double>(page, "msaas.player.context.currentTime");
        await page.Locator("#play").ClickAsync();
        await Expect(page.Locator("#play")).ToHaveTextAsync("Pause");
        await page.WaitForFunctionAsync($"started => msaas.player.position > 1.5 && msaas.player.context.currentTime > started + 1.5 && {separating}",
            started, new() { Timeout = 60_000 });
        Assert.True(await Eval<double>(page, "parseFloat(document.querySelector('#arrival .played').style.width)") > 0, "the played bar has not moved");
        await Shot(page, "07-live");
        // What has arrived grows as the song is separated, and the bar with it.
        var (arrived, bar) = (await Eval<double>(page, "msaas.player.arrived"), await Eval<double>(page, "parseFloat(document.querySelector('#arrival .arrived').style.width)"));
        await page.WaitForFunctionAsync("([arrived, bar]) => msaas.player.arrived > arrived + 1 && " +
            "parseFloat(document.querySelector('#arrival .arrived').style.width) > bar", new[] { arrived, bar }, new() { Timeout = 60_000 });

        // At phone width, playing and caught up with the separation: nothing is wider than the screen.
        await using (var phone = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
            StorageState = await context.StorageStateAsync(),
        }))
        {
            var small = await Open(phone, $"/#/song/{hash}");
            await small.WaitForFunctionAsync("() => msaas.player?.live && msaas.player.arrived > 0", null, new() { Timeout = 60_000 });
            await small.Locator("#play").ClickAsync();
            var waited = await CatchUp(small);
            Assert.True(waited.GetProperty("fits").GetBoolean(), $"the live page is wider than a phone: {waited}");
            await Expect(small.Locator("#arrival")).ToBeVisibleAsync();
            await Shot(small, "07d-live-phone");
        }

        // Caught up with the separation: it waits where the audio ends, says so, and goes on by itself.
        var wait = await CatchUp(page);
        Assert.Equal("Waiting for the separation…", wait.GetProperty("text").GetString());
        Assert.True(wait.GetProperty("position").GetDouble() <= wait.GetProperty("arrived").GetDouble(), $"played past what has arrived: {wait}");
        await Shot(page, "07b-waiting");
        await page.WaitForFunctionAsync("at => !msaas.player.waiting && msaas.player.position > at + 1", wait.GetProperty("position").GetDouble(),
            new() { Timeout = 60_000 });
        await Expect(page.Locator("#waiting")).ToHaveTextAsync("");

        // Done: the page is as for a song that was done when opened, with the same player (nothing fetched again), its
        // stems whole and cut to the song's length, and the audio that came in parts the same as the complete stem's.
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync("Done.", new() { Timeout = 300_000 });
        output.WriteLine($"sent to done: {clock.Elapsed.TotalSeconds:F1} s");
        await page.WaitForFunctionAsync("() => msaas.player.complete", null, new() { Timeout = 60_000 });
        Assert.True(await Eval<bool>(page, "msaas.player.live"), "the live player was replaced");
        Assert.Equal(length / 44_100.0, await Eval<double>(page, "msaas.player.duration"), 0.001);
        await Expect(page.Locator("#arrival")).ToBeHiddenAsync();
        await Expect(page.Locator("#time")).ToHaveTextAsync(new Regex(@"^\d+:\d\d / 1:00$"));
        // Still playing, or played to the end by now: from the start again, it plays, and what the bass's GainNode puts
        // out is the bass, sample for sample, across the blocks the player schedules (recorded with a
        // ScriptProcessorNode: each buffer with its time, so that one the recorder missed leaves a hole, not a seam).
        await page.EvaluateAsync("""
            () => {
              const { context, stems } = msaas.player;
              const tap = context.createScriptProcessor(8192, 2, 1);
              window.heard = [];
              tap.onaudioprocess = e => heard.push({ at: e.playbackTime, samples: e.inputBuffer.getChannelData(0).slice() });
              stems.find(s => s.name === 'bass').gain.connect(tap);
              tap.connect(context.destination);
            }
            """);
        await page.Locator("#wave").FocusAsync();
        await page.Keyboard.PressAsync("Home");
        if (await page.Locator("#play").TextContentAsync() == "Play") await page.Locator("#play").ClickAsync();
        await Expect(page.Locator("#play")).ToHaveTextAsync("Pause");
        await page.WaitForFunctionAsync("() => msaas.player.position > 9", null, new() { Timeout = 30_000 });
        var heard = await page.EvaluateAsync<JsonElement>("""
            () => {
              const bass = msaas.player.stems.find(s => s.name === 'bass').channels[0];
              const rate = msaas.player.context.sampleRate, last = heard.at(-1);
              const out = new Float32Array(Math.round((last.at - heard[0].at) * rate) + last.samples.length);
              const got = new Uint8Array(out.length);
              for (const { at, samples } of heard) {
                const i = Math.round((at - heard[0].at) * rate);
                out.set(samples, i);
                got.fill(1, i, i + samples.length);
              }
              // Where the song starts to sound, and where that was heard.
              const first = bass.findIndex(v => Math.abs(v) > 0.01);
              const at = out.findIndex((_, i) => bass.subarray(first, first + 64).every((w, j) => got[i + j] && Math.abs(out[i + j] - w) < 1e-6));
              let worst = 0, count = 0;
              for (let i = at; at >= 0 && i < out.length && first + i - at < 8 * rate; i++) {
                if (!got[i]) continue;
                worst = Math.max(worst, Math.abs(out[i] - bass[first + i - at]));
                count++;
              }
              return { first, at, count, worst, buffers: heard.length, missed: out.length - got.reduce((n, g) => n + g, 0) };
            }
            """);
        output.WriteLine($"the bass heard: {heard}");
        Assert.True(heard.GetProperty("count").GetInt32() >= 6 * 44_100, $"the bass was not heard from its start: {heard}");
        Assert.True(heard.GetProperty("worst").GetDouble() < 1e-4, $"the bass heard is not the bass: {heard}");
        var snr = await page.EvaluateAsync<double>("""
            async hash => {
              const stem = msaas.player.stems.find(s => s.name === 'vocals');
              const whole = await msaas.player.context.decodeAudioData(await (await fetch(`/apiv1/track/${hash}/vocals`)).arrayBuffer());
              if (whole.length !== stem.length) return -whole.length;
              let signal = 0, noise = 0;
              for (let c = 0; c < whole.numberOfChannels; c++) {
                const [a, b] = [stem.channels[c], whole.getChannelData(c)];
                for (let i = 0; i < whole.length; i++) { signal += b[i] * b[i]; noise += (a[i] - b[i]) ** 2; }
              }
              return 10 * Math.log10(signal / Math.max(noise, 1e-30));
            }
            """, hash);
        output.WriteLine($"live vocals against the complete stem: {snr:F1} dB");
        Assert.True(snr > 60, $"the live vocals differ from the complete stem: {snr:F1} dB signal to difference");

        var mute = page.GetByRole(AriaRole.Button, new() { Name = "Mute vocals" });
        await mute.ClickAsync();
        await page.WaitForFunctionAsync("() => msaas.player.stems.find(s => s.name === 'vocals').gain.gain.value < 0.001");
        await Expect(page.Locator("#mix-current")).ToHaveAttributeAsync("href", $"/apiv1/mix/{hash}?drums=1&bass=1&other=1&vocals=0");
        await page.Locator("#play").ClickAsync();
        await Expect(page.Locator("#play")).ToHaveTextAsync("Play");
        await Shot(page, "07c-live-done");
        await Download(page, page.Locator("li[data-stem='bass'] a.download"), "bass.mp3", length);
        await Download(page, page.Locator("#mix-instrumental"), "instrumental.mp3", length);
        Assert.Empty(_errors);
    }

    [Fact]
    public async Task Should_ask_for_a_client_key_where_the_service_needs_one_and_work_on_the_sign_in_until_it_ends()
    {
        await using var service = new Stopping(await Serve(new() { ["Storage:Root"] = Path.Combine(_work.FullName, "keyed-store"), ["Api:Clients"] = "keys" }));
        var url = service.App.Urls.First();
        var clients = service.App.Services.GetRequiredService<ClientRegistry>();
        var (_, key) = await clients.AddAsync("studio", null, null);
        var (_, otherKey) = await clients.AddAsync("label", null, null);
        var song = Path.Combine(_work.FullName, "keyed-song.mp3");
        File.Copy((await TestData.Song).Mp3, song);
        var hash = SongHash.Of(await File.ReadAllBytesAsync(song));
        var length = (await new FfmpegDecoder().DecodeAsync(song)).Length;
        await using var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1100, Height = 800 },
            AcceptDownloads = true,
        });

        // Without a key: the sign-in and what the service is, nothing else.
        var page = await Open(context, "/", url);
        await Expect(page.Locator("#sign-in")).ToBeVisibleAsync();
        await Expect(page.Locator("#sign-in-why")).ToHaveTextAsync("This service separates songs for its clients: sign in with the key you were given.");
        await Expect(page.Locator("#drop")).ToBeHiddenAsync();
        await Expect(page.Locator("#queue-title")).ToBeHiddenAsync();
        await Expect(page.Locator("#who")).ToBeHiddenAsync();
        await Shot(page, "08-sign-in");
        // A key that is no client's: the service's reason.
        await SignIn(page, ClientKeys.New());
        await Expect(page.Locator("#sign-in-status")).ToHaveTextAsync(new Regex("^Not signed in: the key is not valid"));

        // The client's key: the page as usual. The browser keeps a cookie no script can read, and the key nowhere.
        await SignIn(page, key);
        await Expect(page.Locator("#who-name")).ToHaveTextAsync("Signed in as studio");
        await Expect(page.Locator("#sign-in")).ToBeHiddenAsync();
        await Expect(page.Locator("#drop")).ToBeVisibleAsync();
        var cookie = Assert.Single(await context.CookiesAsync());
        Assert.Equal((PageSignIn.CookieName, true, SameSiteAttribute.Strict, "/apiv1"), (cookie.Name, cookie.HttpOnly, cookie.SameSite, cookie.Path));
        Assert.Equal("", await Eval<string>(page, "document.cookie"));
        Assert.DoesNotContain(key[ClientKeys.Prefix.Length..], await context.StorageStateAsync());

        // Sent, followed by its status events, played and downloaded: every request on the sign-in alone.
        await page.Locator("#file").SetInputFilesAsync(song);
        await page.WaitForURLAsync($"**/#/song/{hash}");
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync("Done.", new() { Timeout = 300_000 });
        await Expect(page.Locator("#player")).ToBeVisibleAsync();
        await Download(page, page.Locator("li[data-stem='drums'] a.download"), "drums.mp3", length);
        await Expect(page.Locator("#my-songs li")).ToHaveTextAsync(new Regex("keyed-song.mp3.*done"));
        await Shot(page, "09-signed-in");
        // Kept across a reload.
        await page.ReloadAsync();
        await Expect(page.Locator("#who-name")).ToHaveTextAsync("Signed in as studio");
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync("Done.", new() { Timeout = 60_000 });

        // Signed out, and in as another client in the same browser: a list of its own (empty), and the song is not there for it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.Locator("#sign-in")).ToBeVisibleAsync();
        await Expect(page.Locator("#song")).ToBeHiddenAsync();
        Assert.Empty(await context.CookiesAsync());
        await SignIn(page, otherKey);
        await Expect(page.Locator("#who-name")).ToHaveTextAsync("Signed in as label");
        await Expect(page.Locator("#my-songs li")).ToHaveCountAsync(0);
        await page.GotoAsync($"{url}/#/song/{hash}");
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync($"The service does not hold this song (any more): no song {hash}.");
        await Shot(page, "09b-another-client");
        // Back as the first client: its list and its song.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await SignIn(page, key);
        await Expect(page.Locator("#my-songs li")).ToHaveTextAsync(new Regex("keyed-song.mp3.*done"));
        await page.GotoAsync($"{url}/#/song/{hash}");
        await Expect(page.Locator("#song-phase")).ToHaveTextAsync("Done.", new() { Timeout = 60_000 });

        // The client removed: the open page asks for a key again, saying why.
        await clients.RemoveAsync("studio");
        await Expect(page.Locator("#sign-in-why")).ToHaveTextAsync(new Regex("sign-in has ended"), new() { Timeout = 15_000 });
        await Expect(page.Locator("#drop")).ToBeHiddenAsync();
        await Expect(page.Locator("#song")).ToBeHiddenAsync();
        await Shot(page, "10-sign-in-ended");
        Assert.Empty(_errors);
    }

    private static async Task SignIn(IPage page, string key)
    {
        await page.GetByLabel("Client key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> Serve(Dictionary<string, string?> settings)
    {
        var app = ServeCommand.Build(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string?>(settings) { ["Logging:LogLevel:Default"] = "Warning" });
        await app.StartAsync();
        return app;
    }

    private async Task<IPage> Open(IBrowserContext context, string path, string? url = null)
    {
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        page.PageError += (_, error) => _errors.Add(error);
        // The browser also reports every 4xx it is answered (an expected refusal included); what matters is the page's own errors.
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) _errors.Add(message.Text);
        };
        await page.GotoAsync((url ?? _url) + path);
        return page;
    }

    // End on the waveform: playback moves to the end of what has arrived and waits for more. Waiting may be short (the
    // next part can come at any moment), so the page notes the first moment it waits: what it says, where it stands,
    // and whether the song's card fits the screen then.
    private static async Task<JsonElement> CatchUp(IPage page)
    {
        await page.EvaluateAsync("""
            () => {
              window.waited = null;
              msaas.player.addEventListener('change', () => {
                if (!msaas.player.waiting || window.waited) return;
                const card = document.querySelector('#song').getBoundingClientRect().right;
                window.waited = {
                  text: document.querySelector('#waiting').textContent, position: msaas.player.position, arrived: msaas.player.arrived,
                  fits: document.documentElement.scrollWidth <= innerWidth &&
                    [...document.querySelectorAll('#song *')].every(e => !e.offsetParent || e.getBoundingClientRect().right <= card),
                };
              });
            }
            """);
        await page.Locator("#wave").FocusAsync();
        await page.Keyboard.PressAsync("End");
        return await (await page.WaitForFunctionAsync("() => window.waited")).JsonValueAsync<JsonElement>();
    }

    private static async Task<T> Eval<T>(IPage page, string expression) => await page.EvaluateAsync<T>($"() => {expression}");

    private static async Task<double[]> Gains(IPage page) =>
        await Eval<double[]>(page, "['drums', 'bass', 'other', 'vocals'].map(n => msaas.player.stems.find(s => s.name === n).gain.gain.value)");

    private async Task Download(IPage page, ILocator link, string name, int length)
    {
        var clock = Stopwatch.StartNew();
        var download = await page.RunAndWaitForDownloadAsync(() => link.ClickAsync());
        var file = Path.Combine(_work.FullName, name);
        await download.SaveAsAsync(file);
        output.WriteLine($"{name}: {new FileInfo(file).Length} bytes in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(name, download.SuggestedFilename);
        var decoded = await new FfmpegDecoder().DecodeAsync(file);
        Assert.InRange(decoded.Length, length - 1152, length + 1152); // within one MP3 frame
    }

    private static async Task<string> Refusal(HttpClient http, string file)
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(file));
        content.Headers.ContentType = new MediaTypeHeaderValue("audio/mpeg");
        form.Add(content, "mp3", Path.GetFileName(file));
        var response = await http.PostAsync("/apiv1/separate", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString()!;
    }

    private static async Task Shot(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Shots, name + ".png") });

    /// <summary>A second service, for one spec: stopped (its workers let go) and disposed at the spec's end.</summary>
    private sealed class Stopping(Microsoft.AspNetCore.Builder.WebApplication app) : IAsyncDisposable
    {
        public Microsoft.AspNetCore.Builder.WebApplication App => app;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class Tolerance(double within) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= within;

        public int GetHashCode(double obj) => 0;
    }
}
