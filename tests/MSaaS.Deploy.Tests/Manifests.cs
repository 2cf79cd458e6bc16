using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace MSaaS.Deploy.Tests;

/// <summary>The Kubernetes objects that `kubectl kustomize` renders from deploy/k8s, as YAML nodes.</summary>
internal sealed class Manifests
{
    private Manifests(IReadOnlyList<YamlMappingNode> objects) => Objects = objects;

    public IReadOnlyList<YamlMappingNode> Objects { get; }

    public static string Root { get; } = LocateRoot();

    public static Manifests Render(string overlay)
    {
        var info = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "kustomize", Path.Combine(Root, "deploy", "k8s", overlay) }) info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("kubectl (with kustomize) is needed for the manifest checks", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"kubectl kustomize {overlay} failed: {errors}");
            var stream = new YamlStream();
            stream.Load(new StringReader(output.Result));
            return new Manifests(stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList());
        }
    }

    public IEnumerable<YamlMappingNode> OfKind(string kind) => Objects.Where(o => Text(o, "kind") == kind);

    public YamlMappingNode Single(string kind, string name) =>
        OfKind(kind).Single(o => Text(Map(o, "metadata"), "name") == name);

    /// <summary>Pod templates of Deployments and StatefulSets (and Jobs), with their owner's name.</summary>
    public IEnumerable<(string Owner, YamlMappingNode Pod)> PodSpecs() =>
        Objects.Where(o => Text(o, "kind") is "Deployment" or "StatefulSet" or "Job")
            .Select(o => (Text(Map(o, "metadata"), "name")!, Map(Map(Map(o, "spec"), "template"), "spec")));

    public static IEnumerable<YamlMappingNode> Containers(YamlMappingNode pod, bool initToo = true) =>
        Seq(pod, "containers").Concat(initToo ? Seq(pod, "initContainers") : []).Cast<YamlMappingNode>();

    public static string? Text(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode s ? s.Value : null;

    public static YamlMappingNode Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlMappingNode m ? m : new YamlMappingNode();

    public static IEnumerable<YamlNode> Seq(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode s ? s.Children : [];

    public static bool Has(YamlMappingNode node, string key) => node.Children.ContainsKey(new YamlScalarNode(key));

    private static string LocateRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MSaaS.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("no MSaaS.sln above the test binaries");
    }
}
