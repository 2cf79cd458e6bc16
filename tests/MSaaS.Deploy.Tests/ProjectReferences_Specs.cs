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

    public static TheoryData<string> Projects => new(Services.Concat(Libraries));

    [Theory]
    [MemberData(nameof(Projects))]
    public void Should_reference_no_service_but_itself(string project)
    {
        var services = References(project).Where(Services.Contains).ToList();

        Assert.True(services.Count == 0, $"src/{project} references the service(s) {string.Join(", ", services)}: move what they share into a library");
    }

    [Fact]
    public void Should_know_every_project_under_src()
    {
        var found = Directory.GetDirectories(Path.Combine(Manifests.Root, "src"))
            .Where(d => Directory.EnumerateFiles(d, "*.csproj").Any()).Select(Path.GetFileName).Order();

        Assert.Equal(Services.Concat(Libraries).Append("Cli").Order(), found);
    }

    // The src projects a project references, by folder name.
    private static IEnumerable<string> References(string project) =>
        XDocument.Load(Path.Combine(Manifests.Root, "src", project, $"MSaaS.{project}.csproj"))
            .Descendants("ProjectReference").Select(r => Path.GetFileName(Path.GetDirectoryName(r.Attribute("Include")!.Value.Replace('\\', '/')))!);
}
