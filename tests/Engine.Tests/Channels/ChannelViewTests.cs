using Engine.Ledger;

namespace Engine.Tests.Channels;

/// <summary>The channel's membership view (StateInfo) through whole nodes, in-memory and in virtual time.</summary>
[TestFixture]
public sealed class ChannelViewTests
{
    private const string Channel = ChannelCluster.Channel;

    [Test]
    public async Task APeerJoiningLate_LearnsTheStateOfPeersThatJoinedBeforeIt_ThoughThoseNeverPublishAgain()
    {
        // peer1 and peer2 are already in another channel (their channel layer runs) when peer0 joins mychannel and publishes
        // its StateInfo, once: its height stays 1, no block is cut. The copies that reach them before they join mychannel
        // must not be remembered as seen; once they join, the StateInfo snapshots they pull carry peer0's state.
        await using var net = new ChannelCluster(1);
        var other = net.Orderer.CreateChannel(new ChannelConfiguration("other", [new OrgAnchors("Org1", [])]));
        var first = net.Start(1, 0);
        var late = new[] { net.Start(1, 1, bootstrap: [0]), net.Start(1, 2, bootstrap: [0]) };
        net.RunUntil(() => net.Peers.All(p => p.Node.AliveCount == 2), TimeSpan.FromSeconds(10), net.Describe);
        foreach (var peer in late)
        {
            peer.Node.JoinChannel(other, ChannelCluster.OrdererEndpoint);
        }

        net.Join(first);
        net.Run(TimeSpan.FromSeconds(3));
        foreach (var peer in late)
        {
            net.Join(peer);
        }

        Assert.That(late.Select(p => p.Node.ChannelManager!.NotJoinedIgnored), Has.All.GreaterThan(0L),
            "peer0's StateInfo reached each late peer before it joined, and was ignored (not stored)");
        net.RunUntil(() => net.Peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 2), TimeSpan.FromSeconds(5), net.Describe);
        Assert.That(first.Node.GetLedgerHeight(Channel), Is.EqualTo(1UL), "no block was cut: peer0 had no reason to publish again");
    }
}
