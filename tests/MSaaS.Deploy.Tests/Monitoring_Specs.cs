using System.Text.Json;
using System.Text.RegularExpressions;
using MSaaS.Saga;
using MSaaS.Encoding;
using MSaaS.Notifications;
using MSaaS.Separation;
using MSaaS.Testing;
using YamlDotNet.RepresentationModel;
using static MSaaS.Deploy.Tests.Manifests;

namespace MSaaS.Deploy.Tests;

/// <summary>
/// deploy/k8s/monitoring and the scrape annotations: every service is scraped where it serves /metrics, and every metric
/// the alert rules and the dashboard use is one the code exports (the project's own instruments, by the names
/// OpenTelemetry's Prometheus exporter gives them; the embedded end-to-end spec checks those names on a real scrape).
/// </summary>
public sealed partial class Monitoring_Specs
{
    private static readonly string Folder = Path.Combine(Root, "deploy", "k8s", "monitoring");

    /// <summary>Metrics of the platform's instrumentation the dashboard uses (Telemetry_Specs sees them at /metrics).</summary>
    private static readonly HashSet<string> Platform = ["http_server_request_duration_seconds_bucket"];

    private static readonly IReadOnlySet<string> Exported =
        MsaasMetricNames.Of(typeof(SeparationMetrics), typeof(EncodingMetrics), typeof(WebhookMetrics), typeof(SongMetrics));

    [Fact]
    public void Should_scrape_every_service_on_its_http_port_at_metrics()
    {
        var manifests = Render("base");
        foreach (var name in new[] { "api", "separation", "encoding", "notifications" })
        {
            var template = Map(Map(manifests.Single("Deployment", name), "spec"), "template");
            var annotations = Map(Map(template, "metadata"), "annotations");
            Assert.Equal("true", Text(annotations, "prometheus.io/scrape"));
            Assert.Equal("/metrics", Text(annotations, "prometheus.io/path"));
            var ports = Containers(Map(template, "spec"), initToo: false).SelectMany(c => Seq(c, "ports")).Cast<YamlMappingNode>()
                .Select(p => Text(p, "containerPort"));
            Assert.Contains(Text(annotations, "prometheus.io/port"), ports);
        }
    }

    [Fact]
    public void Should_render_the_rules_and_the_dashboard_as_config_maps_grafana_finds()
    {
        var manifests = Render("monitoring");
        Assert.NotNull(Text(Map(manifests.Single("ConfigMap", "msaas-prometheus-rules"), "data"), "msaas-alerts.yml"));
        var dashboard = manifests.Single("ConfigMap", "msaas-grafana-dashboard");
        Assert.Equal("1", Text(Map(Map(dashboard, "metadata"), "labels"), "grafana_dashboard"));
        Assert.NotNull(Text(Map(dashboard, "data"), "msaas-dashboard.json"));
    }

    [Fact]
    public void Should_alert_on_failures_deadlines_webhooks_waiting_songs_and_missing_workers_with_exported_metrics()
    {
        var rules = Rules().ToList();
        Assert.Equal(["MsaasDeadlinesFiring", "MsaasNoSeparationWorker", "MsaasQueueWaiting", "MsaasSongsFailing", "MsaasWebhookFailureRate"],
            rules.Select(r => r.Alert).Order());
        foreach (var (alert, expression) in rules) AssertExported(alert, expression);
    }

    [Fact]
    public void Should_chart_only_exported_metrics_on_the_dashboard()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "msaas-dashboard.json")));
        var targets = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Panel: p.GetProperty("title").GetString()!, Expr: t.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.True(targets.Count >= 10, "the dashboard lost its panels");
        foreach (var (panel, expression) in targets) AssertExported(panel, expression);
        // What an operator looks for first.
        var all = string.Join("\n", targets.Select(t => t.Expr));
        foreach (var needed in new[] { "msaas_songs_completed_total", "msaas_separation_duration_seconds_bucket", "msaas_separation_realtime_factor_bucket",
                     "msaas_encoding_duration_seconds_bucket", "msaas_webhook_duration_seconds_bucket", "msaas_songs{state=\"Separating\"}", "msaas_songs_failed_total" })
            Assert.Contains(needed, all, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_find_metric_names_in_promql_and_nothing_else()
    {
        Assert.Equal(["a_b_bucket", "c_total"],
            MetricsIn("histogram_quantile(0.95, sum by (le, http_route) (rate(a_b_bucket{x=\"y\",z=~\"q|r\"}[5m]))) / clamp_min(sum(c_total offset 1h), 1e-9) or vector(0)").Order());
    }

    private static void AssertExported(string where, string expression)
    {
        var metrics = MetricsIn(expression).ToList();
        Assert.True(metrics.Count > 0, $"{where}: no metric in {expression}");
        foreach (var metric in metrics)
            Assert.True(Exported.Contains(metric) || Platform.Contains(metric), $"{where}: {metric} is not a metric the services export");
    }

    private static IEnumerable<(string Alert, string Expr)> Rules()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Folder, "msaas-alerts.yml"))));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        return Seq(root, "groups").Cast<YamlMappingNode>().SelectMany(g => Seq(g, "rules")).Cast<YamlMappingNode>()
            .Select(r => (Text(r, "alert")!, Text(r, "expr")!));
    }

    // The series names in a PromQL expression: identifiers that are not functions, keywords, label names or values.
    private static IEnumerable<string> MetricsIn(string expression)
    {
        var bare = Matchers().Replace(Grouping().Replace(Ranges().Replace(expression, ""), ""), "");
        return Identifiers().Matches(bare).Select(m => m.Value)
            .Where(name => !Keywords.Contains(name)).Distinct();
    }

    private static readonly HashSet<string> Keywords = ["and", "or", "unless", "offset", "bool", "on", "ignoring", "group_left", "group_right", "inf", "nan"];

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\b(by|without|on|ignoring)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    // An identifier not preceded by a digit or dot (1e-9) and not followed by "(" (a function call).
    [GeneratedRegex(@"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\(|[\w])")]
    private static partial Regex Identifiers();
}
