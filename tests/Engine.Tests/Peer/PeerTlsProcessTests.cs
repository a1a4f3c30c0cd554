using Engine.Security;

namespace Engine.Tests.Peer;

/// <summary>Peers as an operator runs them with crypto material from <c>certs</c>: signed alive messages and mutual TLS.</summary>
[Category("Sockets")]
public sealed class PeerTlsProcessTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private static readonly string[] Orgs = ["Org1", "Org2"];
    private static readonly string[] Org1Only = ["Org1"];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"engine-peer-tls-{Guid.NewGuid():N}");

    public PeerTlsProcessTests() => CryptoMaterial.Generate(_dir, Orgs, 2);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Test]
    [CancelAfter(60_000)]
    public async Task TwoPeersWithCertificatesDiscoverEachOtherOverMutualTls_AndAPeerOfAnUntrustedOrgIsRefused(CancellationToken cancellationToken)
    {
        string[] Args(string org, int index, string id, params string[] more) =>
        [
            .. PeerHostTests.FastLoopback.Concat(more).SelectMany(s => new[] { "--set", s }),
            "--set", $"peer.id={id}", "--set", $"peer.localMspId={org}", "--set", "peer.tls.enabled=true",
            "--set", $"peer.mspConfigPath={CryptoMaterial.PeerDirectory(_dir, org, CryptoMaterial.PeerName(org, index))}",
        ];

        using var first = PeerProcess.Start(Args("Org1", 0, "first"));
        var firstAdmin = await first.AdminEndpointAsync(Deadline, cancellationToken);
        var firstStatus = await Engine.Peer.Admin.AdminClient.GetStatusAsync(firstAdmin, cancellationToken);
        using var second = PeerProcess.Start(Args("Org1", 1, "second", $"gossip.bootstrap={firstStatus.Endpoint}"));
        await second.AdminEndpointAsync(Deadline, cancellationToken);

        // A third peer with material of its own (an Org1 it made up): its TLS certificate chains to no CA the first trusts.
        string rogue = Path.Combine(_dir, "rogue");
        CryptoMaterial.Generate(rogue, Org1Only, 1);
        using var third = PeerProcess.Start(
        [
            .. PeerHostTests.FastLoopback.SelectMany(s => new[] { "--set", s }),
            "--set", "peer.id=third", "--set", "peer.tls.enabled=true", "--set", $"gossip.bootstrap={firstStatus.Endpoint}",
            "--set", $"peer.mspConfigPath={CryptoMaterial.PeerDirectory(rogue, "Org1", "peer0.Org1")}",
        ]);

        var deadline = DateTime.UtcNow + Deadline;
        var status = await Engine.Peer.Admin.AdminClient.GetStatusAsync(firstAdmin, cancellationToken);
        while (!(status.Members.Count(m => m.State == "alive") == 1 && first.Output.Contains("Refused inbound TLS connection", StringComparison.Ordinal))
            && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken); // polling interval, not a wait for an outcome
            status = await Engine.Peer.Admin.AdminClient.GetStatusAsync(firstAdmin, cancellationToken);
        }

        Assert.That(status.Members.Where(m => m.State == "alive").Select(m => m.Org), Is.EqualTo(Org1Only), first.Output);
        Assert.That(status.Counters.Single(c => c.Name == "signaturesVerified").Value, Is.Positive);
        Assert.That(first.Output, Does.Contain("Refused inbound TLS connection with 127.0.0.1:").And.Contain("Untrusted"));
        first.Signal("TERM");
        second.Signal("TERM");
        third.Signal("TERM");
        Assert.That(await first.WaitForExitAsync(Deadline, cancellationToken), Is.Zero, first.Error);
    }
}
