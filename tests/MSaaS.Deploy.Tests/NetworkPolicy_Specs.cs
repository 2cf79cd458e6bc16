using System.Globalization;
using System.Net;
using System.Net.Sockets;
using YamlDotNet.RepresentationModel;
using static MSaaS.Deploy.Tests.Manifests;

namespace MSaaS.Deploy.Tests;

/// <summary>
/// deploy/k8s/base/network-policies.yaml, read the way a CNI that enforces NetworkPolicy reads the rendered base and gpu
/// overlay: which pod may connect to which, on which port, inside the namespace and across its edge. A connection
/// between two pods of the namespace needs the client's egress and the server's ingress; a pod no policy isolates is
/// open. Addresses a pod may hold are taken to be in the private ranges, so an address block reaches pods unless it
/// excludes them all.
/// </summary>
public sealed class NetworkPolicy_Specs
{
    private const string Namespace = "msaas";

    /// <summary>The label Kubernetes puts on every namespace, with its name.</summary>
    private const string NameLabel = "kubernetes.io/metadata.name";

    private static readonly Manifests Base = Render("base");
    private static readonly Manifests Gpu = Render("overlays/gpu");

    public static TheoryData<string> Overlays => new() { "base", "overlays/gpu" };

    private static Network Of(string overlay) => new(overlay == "base" ? Base : Gpu);

    /// <summary>
    /// Who uses each server, and on which port (src/: the api runs the saga and keeps clients in Redis, notifications its
    /// delivery ledger, the log reader pops the legacy "logging" list; all four services are on the bus; every MSaaS
    /// process makes the buckets at start and the minio-buckets job makes them too).
    /// </summary>
    private static readonly Dictionary<string, (int Port, string[] Clients)> Servers = new()
    {
        ["redis"] = (6379, ["api", "notifications", "logs-reader"]),
        ["rabbitmq"] = (5672, ["api", "separation", "encoding", "notifications"]),
        ["minio"] = (9000, ["api", "separation", "encoding", "notifications", "minio-buckets"]),
    };

    private static readonly string[] Workers = ["separation", "encoding", "notifications"];

    /// <summary>Where Prometheus runs (it scrapes the pods' prometheus.io/port) and where KEDA's operator does.</summary>
    private const string Monitoring = "monitoring";

    private const string Keda = "keda";

    /// <summary>The cluster's own and the cloud's addresses: no address block may reach into them.</summary>
    private static readonly string[] PrivateRanges =
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"];

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_deny_every_pod_all_ingress_and_egress_that_no_policy_allows(string overlay)
    {
        var network = Of(overlay);
        Assert.Contains(network.Policies, p => p.Selector.Count == 0 && p.Ingress && p.Egress && p.In.Count == 0 && p.Out.Count == 0);
        Assert.True(network.Pods.Count >= 9, "the pods were not found");
        foreach (var pod in network.Pods)
        {
            Assert.True(network.Isolated(pod, ingress: true), $"{pod.Name} takes any ingress");
            Assert.True(network.Isolated(pod, ingress: false), $"{pod.Name} may send anywhere");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_take_traffic_from_outside_the_namespace_only_on_the_api_http_port_besides_the_scrape_and_the_scaler(string overlay)
    {
        var network = Of(overlay);
        var api = Containers(network.Pod("api").Spec, initToo: false).SelectMany(c => Seq(c, "ports")).Cast<YamlMappingNode>()
            .Single(p => Text(p, "name") == "http");
        var amqp = Seq(Map((overlay == "base" ? Base : Gpu).Single("Service", "rabbitmq"), "spec"), "ports").Cast<YamlMappingNode>().Single(p => Text(p, "name") == "amqp");
        List<string> expected =
        [
            $"api <- anywhere TCP/{Text(api, "containerPort")}",
            .. Workers.Select(w => $"{w} <- namespace {Monitoring} TCP/{network.Pod(w).MetricsPort}"),
            $"rabbitmq <- namespace {Keda} TCP/{Text(amqp, "targetPort")}",
        ];

        var actual = network.Pods.SelectMany(pod => network.Rules(pod, ingress: true)
            .SelectMany(rule => rule.Peers.Select(Outside).OfType<string>().SelectMany(source => PortTexts(rule).Select(port => $"{pod.Name} <- {source} {port}"))));

        Assert.Equal(expected.Order(), actual.Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_let_each_server_take_connections_only_from_the_pods_that_use_it(string overlay)
    {
        var network = Of(overlay);
        foreach (var (server, (port, clients)) in Servers)
        {
            var pod = network.Pod(server);
            Assert.Contains(port, pod.Ports.Select(p => p.Number));
            var admitted = network.Pods.Where(p => p != pod)
                .SelectMany(client => Network.Probed(pod).Where(q => network.Admits(pod, ingress: true, client, pod, q)).Select(q => $"{client.Name} -> {server}:{q.Number}"));
            Assert.Equal(clients.Select(c => $"{c} -> {server}:{port}").Order(), admitted.Order());
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_connect_inside_the_namespace_only_the_services_to_the_servers_they_use(string overlay)
    {
        var network = Of(overlay);
        var expected = Servers.SelectMany(s => s.Value.Clients.Select(c => $"{c} -> {s.Key}:{s.Value.Port}"));

        var actual = network.Pods.SelectMany(client => network.Pods.Where(server => server != client)
            .SelectMany(server => Network.Probed(server).Where(port => network.Allowed(client, server, port)).Select(port => $"{client.Name} -> {server.Name}:{port.Number}")));

        Assert.Equal(expected.Order(), actual.Order());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_let_workers_take_no_ingress_but_the_scrape_from_the_monitoring_namespace(string overlay)
    {
        var network = Of(overlay);
        foreach (var worker in Workers.Select(network.Pod))
        {
            Assert.NotNull(worker.MetricsPort);
            var ingress = network.Rules(worker, ingress: true)
                .SelectMany(rule => rule.Peers.Select(peer => Outside(peer) ?? "pods " + Describe(peer.Pods ?? new Dictionary<string, string>())).SelectMany(source => PortTexts(rule).Select(port => $"{source} {port}")));
            Assert.Equal(new[] { $"namespace {Monitoring} TCP/{worker.MetricsPort}" }, ingress.Distinct());
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_let_pods_out_of_the_namespace_only_to_dns_and_to_public_addresses(string overlay)
    {
        var network = Of(overlay);
        // Webhooks may name any port; the separation pod's assets init container fetches the model from npm over HTTPS.
        var expected = network.Pods.SelectMany(pod => new[] { $"{pod.Name} -> namespace kube-system UDP/53", $"{pod.Name} -> namespace kube-system TCP/53" })
            .Concat(["notifications -> public IPv4 any port", "notifications -> public IPv6 any port"])
            .Concat(["separation -> public IPv4 TCP/443", "separation -> public IPv6 TCP/443"]);

        var actual = network.Pods.SelectMany(pod => network.Rules(pod, ingress: false)
            .SelectMany(rule => rule.Peers.Select(Outside).OfType<string>().SelectMany(target => PortTexts(rule).Select(port => $"{pod.Name} -> {target} {port}"))));

        Assert.Equal(expected.Order(), actual.Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_let_notifications_call_public_addresses_on_any_port_and_no_pod_call_the_private_ranges(string overlay)
    {
        var network = Of(overlay);
        var notifications = network.Pod("notifications");
        foreach (var address in new[] { "198.51.100.7", "2001:db8::7" })
            foreach (var port in new[] { 80, 443, 8443 })
                Assert.True(network.Reaches(notifications, IPAddress.Parse(address), port), $"notifications cannot call {address}:{port}");

        foreach (var range in PrivateRanges.Select(IPNetwork.Parse))
        {
            // Its first address, one in its middle and its last: a range excluded only in part fails on one of them.
            foreach (var address in Inside(range))
                foreach (var pod in network.Pods)
                    Assert.False(network.Reaches(pod, address, 443), $"{pod.Name} may call {address} in {range}");
        }

        foreach (var block in network.Policies.SelectMany(p => p.In.Concat(p.Out)).SelectMany(r => r.Peers).Where(p => p.Block is not null))
            foreach (var range in PrivateRanges.Select(IPNetwork.Parse).Where(r => Overlap(r, block.Block!.Value)))
                Assert.True(block.Except.Any(e => Covers(e, range)), $"the address block {block.Block} leaves {range} open");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Should_let_every_pod_resolve_names_with_the_cluster_dns(string overlay)
    {
        var network = Of(overlay);
        var dns = new Pod("coredns", "kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }, null, [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")], new YamlMappingNode());
        foreach (var pod in network.Pods)
            foreach (var port in dns.Ports)
                Assert.True(network.Allowed(pod, dns, port), $"{pod.Name} cannot reach the cluster DNS on {port.Protocol}/53");
    }

    /// <summary>What outside the namespace a peer lets in or out, in words; null when it names pods of the namespace only.</summary>
    private static string? Outside(Peer peer)
    {
        if (peer.Anywhere) return "anywhere";
        if (peer.Block is { } block)
        {
            var family = block.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";
            var inside = PrivateRanges.Select(IPNetwork.Parse).Where(r => r.BaseAddress.AddressFamily == block.BaseAddress.AddressFamily);
            return block.PrefixLength == 0 && inside.All(r => peer.Except.Any(e => Covers(e, r)))
                ? $"public {family}"
                : $"addresses {block} except [{string.Join(", ", peer.Except)}]";
        }
        if (peer.Namespaces is null) return null;
        var pods = peer.Pods is { Count: > 0 } p ? " pods " + Describe(p) : "";
        if (peer.Namespaces.Count == 1 && peer.Namespaces.TryGetValue(NameLabel, out var name))
            return name == Namespace ? null : $"namespace {name}{pods}";
        return $"namespaces {Describe(peer.Namespaces)}{pods}";
    }

    private static IEnumerable<string> PortTexts(Rule rule) =>
        rule.Ports.Count == 0 ? ["any port"] : rule.Ports.Select(p => $"{p.Protocol}/{p.Port ?? "*"}");

    private static string Describe(IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 0 ? "{}" : string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    private static bool Covers(IPNetwork outer, IPNetwork inner) =>
        outer.BaseAddress.AddressFamily == inner.BaseAddress.AddressFamily && outer.PrefixLength <= inner.PrefixLength && outer.Contains(inner.BaseAddress);

    private static bool Overlap(IPNetwork a, IPNetwork b) => Covers(a, b) || Covers(b, a);

    private static IEnumerable<IPAddress> Inside(IPNetwork range)
    {
        var first = range.BaseAddress.GetAddressBytes();
        var last = (byte[])first.Clone();
        for (var bit = range.PrefixLength; bit < first.Length * 8; bit++) last[bit / 8] |= (byte)(0x80 >> (bit % 8));
        var middle = (byte[])first.Clone();
        middle[range.PrefixLength / 8] |= (byte)(0x80 >> (range.PrefixLength % 8)); // the first host bit set
        middle[^1] |= 1;
        return [new IPAddress(first), new IPAddress(middle), new IPAddress(last)];
    }

    private sealed record Pod(string Name, string Namespace, IReadOnlyDictionary<string, string> Labels, string? MetricsPort,
        IReadOnlyList<(string? Name, int Number, string Protocol)> Ports, YamlMappingNode Spec);

    /// <summary>A from or to entry: pods of the namespace (Pods), of the namespaces Namespaces selects, or an address block.</summary>
    private sealed record Peer(IReadOnlyDictionary<string, string>? Pods, IReadOnlyDictionary<string, string>? Namespaces, IPNetwork? Block, IReadOnlyList<IPNetwork> Except)
    {
        public static readonly Peer Everywhere = new(null, null, null, []);

        public bool Anywhere => Pods is null && Namespaces is null && Block is null;
    }

    private sealed record Rule(IReadOnlyList<Peer> Peers, IReadOnlyList<(string Protocol, string? Port)> Ports)
    {
        public static readonly Rule Open = new([Peer.Everywhere], []);
    }

    private sealed record Policy(string Name, IReadOnlyDictionary<string, string> Selector, bool Ingress, bool Egress, IReadOnlyList<Rule> In, IReadOnlyList<Rule> Out);

    /// <summary>The pods and the network policies of one rendering.</summary>
    private sealed class Network
    {
        private readonly IReadOnlyDictionary<string, string> _namespaceLabels;

        public Network(Manifests manifests)
        {
            var ns = manifests.Single("Namespace", Namespace);
            _namespaceLabels = new Dictionary<string, string>(Labels(Map(ns, "metadata"), "labels")) { [NameLabel] = Namespace };
            Pods = [.. manifests.Objects.Where(o => Text(o, "kind") is "Deployment" or "StatefulSet" or "Job").Select(ToPod)];
            Policies = [.. manifests.OfKind("NetworkPolicy").Select(ToPolicy)];
        }

        public IReadOnlyList<Pod> Pods { get; }

        public IReadOnlyList<Policy> Policies { get; }

        public Pod Pod(string name) => Pods.Single(p => p.Name == name);

        public bool Isolated(Pod pod, bool ingress) => Applying(pod, ingress).Any();

        /// <summary>The rules that let traffic into (or out of) a pod; a pod no policy isolates that way is open.</summary>
        public IEnumerable<Rule> Rules(Pod pod, bool ingress)
        {
            var applying = Applying(pod, ingress).ToList();
            return applying.Count == 0 ? [Rule.Open] : applying.SelectMany(p => ingress ? p.In : p.Out);
        }

        /// <summary>Whether a pod's ingress (or egress) lets <paramref name="other"/> connect to (or be reached on) port of target.</summary>
        public bool Admits(Pod pod, bool ingress, Pod other, Pod target, (string? Name, int Number, string Protocol) port) =>
            Rules(pod, ingress).Any(rule => Opens(rule, target, port) && rule.Peers.Any(peer => Matches(peer, other)));

        /// <summary>Both ends agree: the client's egress and the server's ingress (a pod outside the namespace is not ours to judge).</summary>
        public bool Allowed(Pod client, Pod server, (string? Name, int Number, string Protocol) port) =>
            (client.Namespace != Namespace || Admits(client, ingress: false, server, server, port))
            && (server.Namespace != Namespace || Admits(server, ingress: true, client, server, port));

        /// <summary>Whether a pod may open a TCP connection to an address outside the cluster's pods.</summary>
        public bool Reaches(Pod pod, IPAddress address, int port) =>
            Rules(pod, ingress: false).Any(rule =>
                (rule.Ports.Count == 0 || rule.Ports.Any(p => p.Protocol == "TCP" && (p.Port is null || p.Port == port.ToString(CultureInfo.InvariantCulture))))
                && rule.Peers.Any(peer => peer.Anywhere || (peer.Block is { } block && block.Contains(address) && !peer.Except.Any(e => e.Contains(address)))));

        /// <summary>A pod's declared ports and one it does not declare, which only a rule open on every port lets through.</summary>
        public static IEnumerable<(string? Name, int Number, string Protocol)> Probed(Pod pod) => pod.Ports.Append((null, 12345, "TCP"));

        private IEnumerable<Policy> Applying(Pod pod, bool ingress) =>
            Policies.Where(p => Selects(p.Selector, pod.Labels) && (ingress ? p.Ingress : p.Egress));

        private bool Matches(Peer peer, Pod pod)
        {
            if (peer.Anywhere) return true;
            // A pod's address is in one of the private ranges: a block reaches pods unless it leaves every one of them out.
            if (peer.Block is { } block)
                return PrivateRanges.Select(IPNetwork.Parse).Any(r => Overlap(block, r) && !peer.Except.Any(e => Covers(e, r)));
            if (peer.Namespaces is null) return pod.Namespace == Namespace && Selects(peer.Pods!, pod.Labels);
            var labels = pod.Namespace == Namespace ? _namespaceLabels : new Dictionary<string, string> { [NameLabel] = pod.Namespace };
            return Selects(peer.Namespaces, labels) && (peer.Pods is null || Selects(peer.Pods, pod.Labels));
        }

        private static bool Opens(Rule rule, Pod target, (string? Name, int Number, string Protocol) port) =>
            rule.Ports.Count == 0 || rule.Ports.Any(p => p.Protocol == port.Protocol
                && (p.Port is null || p.Port == port.Number.ToString(CultureInfo.InvariantCulture) || (p.Port == port.Name && target.Ports.Contains(port))));

        private static bool Selects(IReadOnlyDictionary<string, string> selector, IReadOnlyDictionary<string, string> labels) =>
            selector.All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value);

        private static Pod ToPod(YamlMappingNode owner)
        {
            var template = Map(Map(owner, "spec"), "template");
            var metadata = Map(template, "metadata");
            var spec = Map(template, "spec");
            var ports = Containers(spec, initToo: false).SelectMany(c => Seq(c, "ports")).Cast<YamlMappingNode>()
                .Select(p => (Text(p, "name"), int.Parse(Text(p, "containerPort")!, CultureInfo.InvariantCulture), Text(p, "protocol") ?? "TCP")).ToList();
            return new Pod(Text(Map(owner, "metadata"), "name")!, Namespace, Labels(metadata, "labels"), Text(Map(metadata, "annotations"), "prometheus.io/port"), ports, spec);
        }

        private static Policy ToPolicy(YamlMappingNode policy)
        {
            var metadata = Map(policy, "metadata");
            Assert.Equal(Namespace, Text(metadata, "namespace"));
            var spec = Map(policy, "spec");
            var types = Seq(spec, "policyTypes").Select(t => ((YamlScalarNode)t).Value).ToList();
            return new Policy(Text(metadata, "name")!, Selector(Map(spec, "podSelector")),
                types.Count == 0 || types.Contains("Ingress"), types.Count == 0 ? Has(spec, "egress") : types.Contains("Egress"),
                [.. Seq(spec, "ingress").Cast<YamlMappingNode>().Select(r => ToRule(r, "from"))],
                [.. Seq(spec, "egress").Cast<YamlMappingNode>().Select(r => ToRule(r, "to"))]);
        }

        private static Rule ToRule(YamlMappingNode rule, string peers)
        {
            var list = Seq(rule, peers).Cast<YamlMappingNode>().Select(ToPeer).ToList();
            var ports = Seq(rule, "ports").Cast<YamlMappingNode>().Select(p =>
            {
                Assert.False(Has(p, "endPort"), "the specs read single ports, not ranges");
                return (Text(p, "protocol") ?? "TCP", Text(p, "port"));
            }).ToList();
            return new Rule(list.Count == 0 ? [Peer.Everywhere] : list, ports);
        }

        private static Peer ToPeer(YamlMappingNode peer)
        {
            if (Has(peer, "ipBlock"))
            {
                var block = Map(peer, "ipBlock");
                return new Peer(null, null, IPNetwork.Parse(Text(block, "cidr")!),
                    [.. Seq(block, "except").Select(e => IPNetwork.Parse(((YamlScalarNode)e).Value!))]);
            }
            return new Peer(Has(peer, "podSelector") ? Selector(Map(peer, "podSelector")) : null,
                Has(peer, "namespaceSelector") ? Selector(Map(peer, "namespaceSelector")) : null, null, []);
        }

        private static Dictionary<string, string> Selector(YamlMappingNode selector)
        {
            Assert.False(Has(selector, "matchExpressions"), "the specs read matchLabels only");
            return Labels(selector, "matchLabels");
        }

        private static Dictionary<string, string> Labels(YamlMappingNode node, string key) =>
            Map(node, key).Children.ToDictionary(l => ((YamlScalarNode)l.Key).Value!, l => ((YamlScalarNode)l.Value).Value!);
    }
}
