using Engine.Peer.Admin;
using Engine.Peer.Configuration;
using Engine.Peer.Hosting;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Tests.Peer;

/// <summary>Peers hosted in this process from configuration, each with its real gossip node and admin port on 127.0.0.1.</summary>
[Category("Sockets")]
public sealed class PeerHostTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    /// <summary>Fast timers so discovery completes within a second or two; free ports everywhere.</summary>
    internal static readonly string[] FastLoopback =
    [
        "gossip.endpoint=127.0.0.1:0",
        "admin.listenAddress=127.0.0.1:0",
        "gossip.aliveTimeInterval=200ms",
        "gossip.aliveExpirationTimeout=5s",
        "gossip.pullInterval=500ms",
        "gossip.reconnectInterval=1s",
        "transport.udpReceiveThread=false",
    ];

    private static PeerHost CreateHost(ILoggerFactory loggerFactory, params string[] sets)
    {
        var settings = PeerConfigLoader.Load(null, null, [.. FastLoopback, .. sets]);
        return new PeerHost(settings, new GossipNodeRuntime(settings.Gossip, loggerFactory), loggerFactory);
    }

    private static async Task<PeerStatus> WaitForStatusAsync(PeerEndpoint admin, Func<PeerStatus, bool> condition, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Deadline;
        PeerStatus status;
        do
        {
            status = await AdminClient.GetStatusAsync(admin, cancellationToken);
            if (condition(status))
            {
                return status;
            }

            await Task.Delay(50, cancellationToken); // polling interval, not a wait for an outcome
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"condition not met within {Deadline}; last status of {status.PeerId}: {status.Members.Count} members, "
            + string.Join(", ", status.Members.Select(m => $"{m.Endpoint} {m.State}")));
        return status;
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TwoPeersFromConfig_DiscoverEachOther_AsSeenThroughTheAdminPort(CancellationToken cancellationToken)
    {
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var first = CreateHost(loggerFactory, "peer.id=first");
        await first.StartAsync(cancellationToken);
        var firstStatus = await AdminClient.GetStatusAsync(first.AdminEndpoint!.Value, cancellationToken);
        Assert.That(firstStatus.Running, Is.True);
        Assert.That(PeerEndpoint.Parse(firstStatus.Endpoint).Port, Is.Not.Zero, "port 0 resolved to the bound port");

        await using var second = CreateHost(loggerFactory, "peer.id=second", "peer.localMspId=Org1", $"gossip.bootstrap={firstStatus.Endpoint}");
        await second.StartAsync(cancellationToken);
        var secondStatus = await AdminClient.GetStatusAsync(second.AdminEndpoint!.Value, cancellationToken);

        var seenByFirst = await WaitForStatusAsync(first.AdminEndpoint!.Value,
            s => s.Members.Any(m => m.Endpoint == secondStatus.Endpoint && m.State == "alive"), cancellationToken);
        var seenBySecond = await WaitForStatusAsync(second.AdminEndpoint!.Value,
            s => s.Members.Any(m => m.Endpoint == firstStatus.Endpoint && m.State == "alive"), cancellationToken);

        Assert.Multiple(() =>
        {
            var member = seenByFirst.Members.Single(m => m.Endpoint == secondStatus.Endpoint);
            Assert.That(member.PkiId, Is.EqualTo(secondStatus.PkiId));
            Assert.That(member.Org, Is.EqualTo("Org1"));
            Assert.That(seenBySecond.Members.Single(m => m.Endpoint == firstStatus.Endpoint).PkiId, Is.EqualTo(firstStatus.PkiId));
            Assert.That(seenBySecond.Counters.Single(c => c.Name == "membershipRequestsSent").Value, Is.Positive, "bootstrap asked the first");
            Assert.That(seenByFirst.Counters.Single(c => c.Name == "bytesReceived").Value, Is.Positive);
            Assert.That(seenBySecond.Counters.Single(c => c.Name == "adminRequests").Value, Is.Positive);
        });

        // Heartbeats flow both ways (the view above may come from the bootstrap's membership exchange alone).
        await WaitForStatusAsync(first.AdminEndpoint!.Value, s => s.Counters.Single(c => c.Name == "aliveReceived").Value > 0, cancellationToken);
        await WaitForStatusAsync(second.AdminEndpoint!.Value, s => s.Counters.Single(c => c.Name == "aliveReceived").Value > 0, cancellationToken);

        // The second stops: the first sees it dead after aliveExpirationTimeout.
        var secondAdmin = second.AdminEndpoint!.Value;
        await second.StopAsync("test");
        Assert.ThrowsAsync<AdminException>(() => AdminClient.GetStatusAsync(secondAdmin, cancellationToken), "the admin port closed");
        await WaitForStatusAsync(first.AdminEndpoint!.Value,
            s => s.Members.Any(m => m.Endpoint == secondStatus.Endpoint && m.State == "dead"), cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AdminPortTaken_TheStartFailsWithTheKeyNamed_AndTheNodeIsStoppedAgain(CancellationToken cancellationToken)
    {
        await using var first = CreateHost(NullLoggerFactory.Instance);
        await first.StartAsync(cancellationToken);
        var taken = first.AdminEndpoint!.Value;

        await using var second = CreateHost(NullLoggerFactory.Instance, $"admin.listenAddress={taken}");
        var e = Assert.ThrowsAsync<PeerStartException>(() => second.StartAsync(cancellationToken));
        Assert.That(e!.Message, Does.StartWith($"admin.listenAddress {taken} cannot be bound (AddressAlreadyInUse)"));
        Assert.That(second.GetStatus().Running, Is.False, "the node was stopped again");
    }
}
