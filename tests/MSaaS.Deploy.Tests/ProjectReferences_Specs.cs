using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace MSaaS.Deploy.Tests;

/// <summary>
/// The dependency rule of docs/architecture.md: each service (a process of its own in the distributed mode) references
/// libraries only, never another service; the libraries reference no service; only the msaas command composes them.
/// </summary>
public sealed class ProjectReferences_Specs
{
    private static readonly string[] Services = ["Api", "Separation", "Encoding", "Notifications"];
    private static readonly string[] Libraries = ["Audio", "Contracts", "Saga", "ServiceDefaults", "Storage"];
    // Made for the benchmarks and the specs: only the msaas command (with `bench`) references it.
    private const string Synthesis = "Synthesis";

    public static TheoryData<string> Projects => new(Services.Concat(Libraries));

    [Theory]
    [MemberData(nameof(Projects))]
    public void Should_reference_no_service_but_itself(string project)
    {
        var services = References(project).Where(Services.Contains).ToList();

        Assert.True(services.Count == 0, $"src/{project} references the service(s) {string.Join(", ", services)}: move what they share into a library");
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Should_leave_the_synthetic_song_to_the_benchmarks(string project) =>
        Assert.DoesNotContain(Synthesis, References(project));

    [Fact]
    public void Should_publish_the_service_images_without_the_benchmarks()
    {
        // Each RUN with its continuation lines joined.
        var dockerfile = File.ReadAllText(Path.Combine(Manifests.Root, "deploy", "docker", "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        var publishes = Regex.Matches(dockerfile, @"dotnet publish [^\n]*").Select(m => m.Value).ToList();

        Assert.NotEmpty(publishes);
        Assert.All(publishes, p => Assert.Contains("-p:WithBench=false", p, StringComparison.Ordinal));
    }

    [Fact]
    public void Should_know_every_project_under_src()
    {
        var found = Directory.GetDirectories(Path.Combine(Manifests.Root, "src"))
            .Where(d => Directory.EnumerateFiles(d, "*.csproj").Any()).Select(Path.GetFileName).Order();

        Assert.Equal(Services.Concat(Libraries).Append("Cli").Append(Synthesis).Order(), found);
    }

    // The src projects a project references, by folder name.
    private static IEnumerable<string> References(string project) =>
        XDocument.Load(Path.Combine(Manifests.Root, "src", project, $"MSaaS.{project}.csproj"))
            .Descendants("ProjectReference").Select(r => Path.GetFileName(Path.GetDirectoryName(r.Attribute("Include")!.Value.Replace('\\', '/')))!);
}
