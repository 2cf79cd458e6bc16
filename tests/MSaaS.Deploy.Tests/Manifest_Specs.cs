using System.Reflection;
using System.Text.RegularExpressions;
using MassTransit;
using MSaaS.Api;
using MSaaS.Api.Compat;
using MSaaS.Saga;
using MSaaS.Encoding;
using MSaaS.Encoding.Consumers;
using MSaaS.Notifications;
using MSaaS.Separation.Consumers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.Cli.Hosting;
using MSaaS.ServiceDefaults;
using YamlDotNet.RepresentationModel;
using static MSaaS.Deploy.Tests.Manifests;

namespace MSaaS.Deploy.Tests;

/// <summary>
/// Static checks of deploy/k8s and deploy/docker: the manifests render with kustomize, and what they name exists:
/// images are Dockerfile targets, settings are keys the code reads, ports and probes line up, references resolve.
/// </summary>
public partial class Manifest_Specs
{
    private static readonly Manifests Base = Render("base");
    private static readonly Manifests Gpu = Render("overlays/gpu");

    public static TheoryData<string> Overlays => new() { "base", "overlays/gpu" };

    private static Manifests Of(string overlay) => overlay == "base" ? Base : Gpu;

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_set_only_settings_a_service_binds_and_accepts(string overlay)
    {
        // The manifests' settings, as the services read them (MSAAS_A__B is A:B), composed into the process that has
        // every role: each must belong to a section some part of it binds, and bind without an unknown key or an
        // invalid value (the same checks that stop a service at start).
        var settings = Settings(Of(overlay)).Distinct().ToDictionary(k => k, k => (string?)Value(Of(overlay), k));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddMsaas(configuration, MsaasRoles.All);
        services.AddApi();
        var bound = services.Select(d => d.ImplementationInstance).OfType<BoundSection>().ToList();

        foreach (var key in settings.Keys)
            Assert.True(bound.Any(b => key.StartsWith(b.Name + ":", StringComparison.Ordinal)), $"the manifests set {key}, which no MSaaS service binds");
        using var provider = services.BuildServiceProvider();
        foreach (var section in bound)
        {
            var options = provider.GetRequiredService(typeof(IOptions<>).MakeGenericType(section.OptionsType));
            _ = options.GetType().GetProperty("Value")!.GetValue(options); // binds and validates; throws on a bad setting
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_use_only_images_the_dockerfile_builds_or_pinned_ones(string overlay)
    {
        var targets = DockerTarget().Matches(File.ReadAllText(Path.Combine(Root, "deploy", "docker", "Dockerfile")))
            .Select(m => m.Groups[1].Value).ToHashSet();
        foreach (var (owner, pod) in Of(overlay).PodSpecs())
            foreach (var container in Containers(pod))
            {
                var image = Text(container, "image")!;
                Assert.True(image.Contains(':', StringComparison.Ordinal) && !image.EndsWith(":latest", StringComparison.Ordinal),
                    $"{owner} uses {image}: images must be pinned");
                if (image.StartsWith("msaas/", StringComparison.Ordinal))
                    Assert.Contains(image["msaas/".Length..].Split(':')[0], targets);
            }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_probe_declared_ports_and_route_services_to_them(string overlay)
    {
        var manifests = Of(overlay);
        foreach (var (owner, pod) in manifests.PodSpecs())
            foreach (var container in Containers(pod, initToo: false))
            {
                var ports = Seq(container, "ports").Cast<YamlMappingNode>().Select(p => Text(p, "containerPort")).ToHashSet();
                foreach (var probe in new[] { "readinessProbe", "livenessProbe" }.Select(p => Map(container, p)).Where(p => p.Children.Count > 0))
                {
                    var port = Text(Map(probe, "httpGet"), "port") ?? Text(Map(probe, "tcpSocket"), "port");
                    if (port is not null) Assert.Contains(port, ports);
                }
                if (Text(pod, "restartPolicy") is null) // long-running pods
                    Assert.True(Has(container, "readinessProbe") && Has(container, "livenessProbe"), $"{owner} lacks probes");
                Assert.True(Has(Map(container, "resources"), "requests"), $"{owner}/{Text(container, "name")} has no resource requests");
            }

        foreach (var service in manifests.OfKind("Service"))
        {
            var app = Text(Map(Map(service, "spec"), "selector"), "app");
            var pods = manifests.Objects.Where(o => Text(Map(Map(Map(Map(o, "spec"), "template"), "metadata"), "labels"), "app") == app).ToList();
            Assert.NotEmpty(pods);
            var containerPorts = pods.SelectMany(p => Containers(Map(Map(Map(p, "spec"), "template"), "spec")))
                .SelectMany(c => Seq(c, "ports").Cast<YamlMappingNode>()).Select(p => Text(p, "containerPort")).ToHashSet();
            foreach (var port in Seq(Map(service, "spec"), "ports").Cast<YamlMappingNode>())
                Assert.Contains(Text(port, "targetPort"), containerPorts);
        }
    }

    [Fact]
    public void Should_point_the_services_at_the_servers_the_manifests_run()
    {
        var config = Map(Base.Single("ConfigMap", "msaas-config"), "data");
        var services = Base.OfKind("Service").ToDictionary(s => Text(Map(s, "metadata"), "name")!,
            s => Seq(Map(s, "spec"), "ports").Cast<YamlMappingNode>().Select(p => Text(p, "port")).ToHashSet());
        Assert.Contains(Text(config, "MSAAS_RabbitMq__Port"), services[Text(config, "MSAAS_RabbitMq__Host")!]);
        var redis = Text(config, "MSAAS_Redis__Configuration")!.Split(':');
        Assert.Contains(redis[1], services[redis[0]]);
        var s3 = new Uri(Text(config, "MSAAS_Storage__S3__Endpoint")!);
        Assert.Contains(s3.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), services[s3.Host]);
    }

    [Fact]
    public void Should_refer_only_to_config_maps_secrets_and_keys_that_exist()
    {
        var configs = Base.OfKind("ConfigMap").ToDictionary(c => Text(Map(c, "metadata"), "name")!, c => Keys(Map(c, "data")));
        var secrets = Base.OfKind("Secret").ToDictionary(c => Text(Map(c, "metadata"), "name")!,
            c => Keys(Map(c, "stringData")).Concat(Keys(Map(c, "data"))).ToHashSet());
        foreach (var (_, pod) in Base.PodSpecs())
            foreach (var container in Containers(pod))
            {
                foreach (var from in Seq(container, "envFrom").Cast<YamlMappingNode>())
                {
                    if (Text(Map(from, "configMapRef"), "name") is { } map) Assert.Contains(map, configs.Keys);
                    if (Text(Map(from, "secretRef"), "name") is { } secret) Assert.Contains(secret, secrets.Keys);
                }
                foreach (var env in Seq(container, "env").Cast<YamlMappingNode>())
                {
                    var reference = Map(Map(env, "valueFrom"), "secretKeyRef");
                    if (reference.Children.Count > 0) Assert.Contains(Text(reference, "key")!, secrets[Text(reference, "name")!]);
                }
            }
        var auth = Base.Single("TriggerAuthentication", "rabbitmq");
        foreach (var target in Seq(Map(auth, "spec"), "secretTargetRef").Cast<YamlMappingNode>())
            Assert.Contains(Text(target, "key")!, secrets[Text(target, "name")!]);
    }

    [Fact]
    public void Should_scale_workers_on_the_queues_masstransit_names_and_protect_them_with_budgets()
    {
        var formatter = KebabCaseEndpointNameFormatter.Instance;
        var queues = new Dictionary<string, string>
        {
            ["separation"] = formatter.Consumer<SeparateStemsConsumer>(),
            ["encoding"] = formatter.Consumer<EncodeStemsConsumer>(),
        };
        foreach (var scaled in Base.OfKind("ScaledObject"))
        {
            var target = Text(Map(Map(scaled, "spec"), "scaleTargetRef"), "name")!;
            Base.Single("Deployment", target);
            var queue = Text(Map((YamlMappingNode)Seq(Map(scaled, "spec"), "triggers").First(), "metadata"), "queueName");
            Assert.Equal(queues[target], queue);
        }
        Assert.Equal(["encoding", "separation"], Base.OfKind("ScaledObject").Select(s => Text(Map(s, "metadata"), "name")).Order());
        var budgets = Base.OfKind("PodDisruptionBudget").Select(p => Text(Map(Map(Map(p, "spec"), "selector"), "matchLabels"), "app")).ToHashSet();
        foreach (var name in new[] { "api", "separation", "encoding", "notifications" }) Assert.Contains(name, budgets);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("separation")]
    [InlineData("encoding")]
    public void Should_give_each_service_that_writes_work_files_a_bounded_scratch_directory(string service)
    {
        var pod = Map(Map(Map(Base.Single("Deployment", service), "spec"), "template"), "spec");
        var scratch = Seq(pod, "volumes").Cast<YamlMappingNode>().Single(v => Text(v, "name") == "scratch");
        Assert.False(string.IsNullOrEmpty(Text(Map(scratch, "emptyDir"), "sizeLimit")));
        var container = Containers(pod, initToo: false).Single();
        Assert.Contains(Seq(container, "volumeMounts").Cast<YamlMappingNode>(), m => Text(m, "name") == "scratch" && Text(m, "mountPath") == "/tmp");
    }

    [Fact]
    public void Should_run_separation_on_a_gpu_node_with_the_gpu_image_in_the_gpu_overlay()
    {
        var pod = Map(Map(Map(Gpu.Single("Deployment", "separation"), "spec"), "template"), "spec");
        var container = Containers(pod, initToo: false).Single();
        Assert.StartsWith("msaas/separation-gpu:", Text(container, "image"));
        Assert.Equal("1", Text(Map(Map(container, "resources"), "limits"), "nvidia.com/gpu"));
        Assert.Equal("true", Text(Map(pod, "nodeSelector"), "nvidia.com/gpu.present"));
        Assert.Contains(Seq(pod, "tolerations").Cast<YamlMappingNode>(), t => Text(t, "key") == "nvidia.com/gpu");
        Assert.Contains(Seq(container, "env").Cast<YamlMappingNode>(), e => Text(e, "name") == "MSAAS_Separation__Cuda" && Text(e, "value") == "true");
        Assert.DoesNotContain("nvidia.com/gpu", File.ReadAllText(Path.Combine(Root, "deploy", "k8s", "base", "separation.yaml")));
    }

    [Fact]
    public void Should_prepare_the_model_ahead_on_cpu_workers_only_after_fetching_it_on_the_same_volume()
    {
        string[] InitNames(Manifests m) => [.. Seq(m.PodSpecs().Single(p => p.Owner == "separation").Pod, "initContainers")
            .Cast<YamlMappingNode>().Select(c => Text(c, "name")!)];
        var prepare = Seq(Base.PodSpecs().Single(p => p.Owner == "separation").Pod, "initContainers").Cast<YamlMappingNode>()
            .Single(c => Text(c, "name") == "prepare");

        Assert.Equal(["assets", "prepare"], InitNames(Base)); // in order: the model first
        Assert.Equal(["/app/msaas", "prepare"], Seq(prepare, "command").Select(n => ((YamlScalarNode)n).Value));
        Assert.Contains(Seq(prepare, "volumeMounts").Cast<YamlMappingNode>(), v => Text(v, "name") == "assets" && Text(v, "mountPath") == "/assets");
        Assert.Equal(["assets"], InitNames(Gpu));
    }

    [Fact]
    public void Should_build_every_service_image_in_stages_and_run_it_as_a_non_root_user()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Root, "deploy", "docker", "Dockerfile"));
        var stages = Regex.Split(dockerfile, @"(?m)^FROM ").Skip(1).ToDictionary(s => DockerTarget().Match("FROM " + s).Groups[1].Value, s => s);
        foreach (var service in new[] { "api", "separation", "separation-gpu", "encoding", "notifications" })
        {
            Assert.True(stages.ContainsKey(service), $"no {service} target");
            var user = Regex.Matches(stages[service], @"(?m)^USER (\S+)").LastOrDefault()?.Groups[1].Value
                       ?? Regex.Matches(stages["runtime"], @"(?m)^USER (\S+)").Last().Groups[1].Value;
            Assert.NotEqual("root", user);
            Assert.Matches($@"ENTRYPOINT \[""/app/msaas"", ""run"", ""{service.Replace("-gpu", "", StringComparison.Ordinal)}""\]", stages[service]);
        }
        Assert.Contains("COPY --from=build", dockerfile);
    }

    [Fact]
    public void Should_build_the_gpu_image_from_the_gpu_flavour_on_cuda_13_and_cudnn_9()
    {
        var dockerfile = Regex.Replace(File.ReadAllText(Path.Combine(Root, "deploy", "docker", "Dockerfile")), "(?m)^#.*$", "");
        var stages = Regex.Split(dockerfile, @"(?m)^FROM ").Skip(1).ToDictionary(s => DockerTarget().Match("FROM " + s).Groups[1].Value, s => s);

        // ONNX Runtime's CUDA package needs CUDA 13 and cuDNN 9: the runtime image carries both.
        Assert.Matches(@"^nvidia/cuda:13\.[0-9.]+-cudnn-runtime-", stages["separation-gpu"]);
        Assert.Contains("COPY --from=build-gpu", stages["separation-gpu"]);
        Assert.Contains("-p:OrtFlavor=gpu", stages["build-gpu"]);
        Assert.Contains("libonnxruntime_providers_cuda.so", stages["build-gpu"]);
        Assert.Contains("MSAAS_Separation__Cuda=true", stages["separation-gpu"]);
        // Every other image carries the CPU build, and nothing is downloaded by hand.
        Assert.DoesNotContain("OrtFlavor", stages["build"]);
        Assert.DoesNotContain("--from=build-gpu", string.Concat(stages.Where(s => s.Key != "separation-gpu").Select(s => s.Value)));
        Assert.DoesNotMatch(@"\b(curl|wget)\b", dockerfile);
    }

    private static IEnumerable<string> Settings(Manifests manifests)
    {
        var names = manifests.OfKind("ConfigMap").SelectMany(c => Keys(Map(c, "data")))
            .Concat(manifests.OfKind("Secret").SelectMany(s => Keys(Map(s, "stringData"))))
            .Concat(manifests.PodSpecs().SelectMany(p => Containers(p.Pod)).SelectMany(c => Seq(c, "env").Cast<YamlMappingNode>()).Select(e => Text(e, "name")!));
        return names.Where(n => n.StartsWith("MSAAS_", StringComparison.Ordinal) && n != "MSAAS_CACHE")
            .Select(n => n["MSAAS_".Length..].Replace("__", ":", StringComparison.Ordinal));
    }

    // The value a setting has in the manifests (the first place that sets it); a value taken from elsewhere
    // (valueFrom) stands in as a placeholder of the right kind.
    private static string Value(Manifests manifests, string key)
    {
        var name = "MSAAS_" + key.Replace(":", "__", StringComparison.Ordinal);
        foreach (var map in manifests.OfKind("ConfigMap").Select(c => Map(c, "data")).Concat(manifests.OfKind("Secret").Select(c => Map(c, "stringData"))))
            if (map.Children.TryGetValue(new YamlScalarNode(name), out var value)) return ((YamlScalarNode)value).Value!;
        foreach (var env in manifests.PodSpecs().SelectMany(p => Containers(p.Pod)).SelectMany(c => Seq(c, "env").Cast<YamlMappingNode>()))
            if (Text(env, "name") == name) return Text(env, "value") ?? "value-from-elsewhere-0123456789";
        throw new KeyNotFoundException(name);
    }

    private static HashSet<string> Keys(YamlMappingNode node) => node.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet();

    [GeneratedRegex(@"(?m)^FROM \S+ AS (\S+)")]
    private static partial Regex DockerTarget();
}
