using System.CommandLine;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;
using MSaaS.Audio;
using MSaaS.Cli.Hosting;
using MSaaS.Contracts;
using MSaaS.Separation;
using MSaaS.Separation.Demucs;
using MSaaS.Storage;

namespace MSaaS.Cli;

/// <summary>
/// <c>msaas separate &lt;input&gt;</c>: one song through the same pipeline the service runs (saga, separation,
/// encoding), in this process on the in-memory bus, with a store in a temporary directory.
/// </summary>
internal static class SeparateCommand
{
    public static Command Create()
    {
        var input = new Argument<FileInfo>("input") { Description = "The song: MP3, WAV, FLAC, OGG, M4A or anything ffmpeg decodes" };
        var output = new Option<DirectoryInfo?>("--out", "-o") { Description = "Directory for the stems [default: separated/<input name>]" };
        var format = new Option<string>("--format", "-f") { Description = "Stem format: MP3 (CBR 320 kbps, as demucs --mp3) or 16-bit WAV", DefaultValueFactory = _ => "mp3" };
        format.AcceptOnlyFromAmong("mp3", "wav");
        var bitrate = new Option<int>("--mp3-bitrate") { Description = "MP3 bitrate in kbps (32-320)", DefaultValueFactory = _ => 320 };
        bitrate.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 32 or > 320) r.AddError("--mp3-bitrate must be between 32 and 320"); });
        var engine = new EngineOptions();
        var command = new Command("separate", "Separate a song into drums, bass, other and vocals") { input, output, format, bitrate };
        engine.AddTo(command);

        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var file = result.GetValue(input)!;
            if (!file.Exists) throw new FileNotFoundException($"input file not found: {file.FullName}", file.FullName);
            var directory = result.GetValue(output)?.FullName ?? Path.Combine("separated", Path.GetFileNameWithoutExtension(file.Name));
            var extension = result.GetValue(format)!;
            var clock = Stopwatch.StartNew();

            var store = Directory.CreateTempSubdirectory("msaas-store-");
            try
            {
                var settings = new Dictionary<string, string?>(engine.ToConfiguration(result))
                {
                    ["Storage:Root"] = store.FullName,
                    // One song: a warm-up run would cost a segment's time and save the first segment's extra (measured
                    // in docs/benchmarks.md, "Separation"); a service warms up, a one-song command does not.
                    ["Separation:WarmUp"] = "false",
                    ["Mp3:BitrateKbps"] = result.GetValue(bitrate).ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                using var host = Embedded(settings);
                // The first song on a machine waits while the model is prepared for it (opened at start): say so.
                var engineSettings = host.Services.GetRequiredService<IOptions<SeparationEngineOptions>>().Value;
                if (DemucsSeparator.WillPrepare(engineSettings))
                    Console.Error.WriteLine($"msaas: preparing the model for this machine ({engineSettings.ResolvedPrecision.ToString().ToLowerInvariant()}; " +
                                            "once, about 10 s; kept in the cache)");
                await host.StartAsync(cancellationToken);
                try
                {
                    var options = engine.Options(result);
                    var request = new SeparationRequest { Shifts = options.Shifts, Overlap = options.Overlap, Normalize = options.Normalize };
                    var song = await Run(host.Services, file, request, extension, directory, cancellationToken);
                    Console.WriteLine($"Separated {file.Name} ({song.DurationSeconds:F1} s) in {clock.Elapsed.TotalSeconds:F1} s " +
                                      $"(real-time factor {clock.Elapsed.TotalSeconds / Math.Max(song.DurationSeconds, 0.001):F2})");
                    // What ran it: the precision and threads a default picks depend on the machine (int8 where the CPU has VNNI).
                    if (host.Services.GetService<IStemSeparator>() is DemucsSeparator separator)
                        Console.WriteLine($"  htdemucs on {separator.Description}");
                    foreach (var track in Stems.Names) Console.WriteLine($"  {Path.Combine(directory, $"{track}.{extension}")}");
                }
                finally
                {
                    // Asked to stop: the song is abandoned, so the host (and the model run in hand) gets seconds, not the
                    // service's stop timeout, to wind down.
                    using var stopping = new CancellationTokenSource(cancellationToken.IsCancellationRequested ? TimeSpan.FromSeconds(5) : Timeout.InfiniteTimeSpan);
                    await host.StopAsync(stopping.Token);
                }
            }
            finally
            {
                store.Delete(recursive: true);
            }
            return 0;
        }));
        return command;
    }

    private static IHost Embedded(IDictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // The engine's and the encoder's MSAAS_ settings, as the services read them (MSAAS_Separation__Precision=int8,
        // MSAAS_Mp3__Quality=3), and no others: a shell set up for the distributed mode must not send this one song to
        // its RabbitMQ, Redis or S3. The command's own settings win.
        builder.Configuration.AddInMemoryCollection(EngineSettings(Environment.GetEnvironmentVariables()));
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("MassTransit", LogLevel.Error);
        builder.Services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
        builder.Services.AddMsaas(builder.Configuration, MsaasRoles.Api | MsaasRoles.Separation | MsaasRoles.Encoding);
        return builder.Build();
    }

    /// <summary>The settings of the sections Separation and Mp3 among MSAAS_ environment variables ("__" for ":").</summary>
    internal static Dictionary<string, string?> EngineSettings(System.Collections.IDictionary environment)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Collections.DictionaryEntry variable in environment)
            if (variable.Key is string name && name.StartsWith("MSAAS_", StringComparison.Ordinal))
            {
                var key = name["MSAAS_".Length..].Replace("__", ":", StringComparison.Ordinal);
                if (key.StartsWith("Separation:", StringComparison.OrdinalIgnoreCase) || key.StartsWith("Mp3:", StringComparison.OrdinalIgnoreCase))
                    settings[key] = variable.Value as string;
            }
        return settings;
    }

    private static async Task<SongState> Run(IServiceProvider services, FileInfo file, SeparationRequest request, string extension,
        string directory, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<IObjectStore>();
        var songs = services.GetRequiredService<ISongStateStore>();

        string hash;
        await using (var content = file.OpenRead())
            hash = await SongHash.OfAsync(content, cancellationToken); // not read whole: a 3-hour song is 400 MB
        var upload = SongObjects.Upload(hash);
        await using (var content = file.OpenRead())
            await store.PutAsync(upload, content, SongObjects.Mp3ContentType, cancellationToken);
        var id = SongHash.Id(hash);
        await services.GetRequiredService<IBus>().Publish(new SongUploaded
        {
            SongId = id, SongHash = hash, Upload = new StoredObject { Bucket = upload.Bucket, Name = upload.Name },
            Model = "htdemucs", Source = "cli", Formats = [extension], Separation = request, UploadedAt = DateTimeOffset.UtcNow,
        }, cancellationToken);

        SongState? song;
        using (var progress = new ConsoleProgress())
        {
            while (true)
            {
                await Task.Delay(200, cancellationToken);
                song = await songs.LoadAsync(id, cancellationToken);
                if (song is null) continue;
                progress.Update(song.Progress / 100.0, song.CurrentState.ToLowerInvariant());
                if (song.CurrentState is SongStates.Completed or SongStates.Failed) break;
            }
        }
        if (song.CurrentState == SongStates.Failed)
            throw new SeparationException(Describe(song.LastError, upload.Name, file.Name));

        Directory.CreateDirectory(directory);
        foreach (var track in Stems.Names)
        {
            var target = Path.Combine(directory, $"{track}.{extension}");
            await using (var stem = await store.OpenReadAsync(SongObjects.Stem(hash, track, extension), cancellationToken))
            await using (var copy = File.Create(target + ".partial"))
                await stem.CopyToAsync(copy, cancellationToken);
            File.Move(target + ".partial", target, overwrite: true);
        }
        return song;
    }

    // "AudioFormatException: <hash>.mp3 is corrupt: ..." -> "song.mp3 is corrupt: ...": the user knows the file by its name.
    private static string Describe(string? error, string storedName, string userName)
    {
        var text = error ?? "the separation failed";
        var colon = text.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0 && !text[..colon].Contains(' ', StringComparison.Ordinal)) text = text[(colon + 2)..];
        return text.Replace(storedName, userName, StringComparison.Ordinal);
    }
}
