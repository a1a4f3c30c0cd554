using Engine.Node;
using static Engine.Tests.Channels.ChannelCluster;

namespace Engine.Tests.Channels;

/// <summary>Lazy block push: blocks too large for a datagram are announced to push's targets and sent to those who ask.</summary>
public sealed class LazyBlockPushTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Test]
    public async Task LargeBlocks_ReachEveryPeerOnceEach_ByAnnouncementAndWant_WithoutRepair()
    {
        await using var net = new ChannelCluster(1);
        var peers = Enumerable.Range(0, 10).Select(i => net.Start(1, i, bootstrap: i == 0 ? [] : [0])).ToArray();
        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders("Org1").Length == 1 && peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 9), Limit, net.Describe);
        const int blocks = 20;
        for (int b = 0; b < blocks; b++)
        {
            net.Orderer.CutBlock(Channel, new byte[65536]);
            net.Run(TimeSpan.FromMilliseconds(100));
        }

        net.RunUntil(() => peers.All(p => p.Node.GetLedgerHeight(Channel) == blocks + 1), Limit, net.Describe);
        var lazy = peers.Select(p => p.Node.ChannelManager!.Lazy.GetStatistics()).ToArray();
        var stats = peers.Select(p => p.Node.GetBlockStatistics(Channel)).ToArray();
        TestContext.Out.WriteLine(string.Join("\n", lazy.Select(l => l.ToString())));
        TestContext.Out.WriteLine(string.Join("\n", stats.Select(s => s.ToString())));
        Assert.That(stats.Sum(s => s.GapRequests), Is.Zero, "nothing was missed");
        Assert.That(stats.Sum(s => s.PullRepaired), Is.Zero);
        Assert.That(lazy.Sum(l => l.Served), Is.EqualTo(9 * blocks), "each follower asked for each block once, and got it");
    }
}
