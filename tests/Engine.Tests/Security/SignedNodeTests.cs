using Engine.Node;
using Engine.Protocol;
using Engine.Security;

namespace Engine.Tests.Security;

/// <summary>Nodes with credentials sign their alive messages and verify everyone's, on the in-memory network in virtual time.</summary>
public class SignedNodeTests
{
    [Test]
    public async Task SignedPeersConvergeAndVerifyEachHeartbeatOnce()
    {
        await using var cluster = new SignedCluster();
        cluster.Start();
        for (int i = 1; i < 6; i++)
        {
            cluster.Start(bootstrap: 0);
        }

        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(20), cluster.Views);
        cluster.Run(TimeSpan.FromSeconds(5));
        Assert.That(cluster.Converged(), Is.True, cluster.Views());
        foreach (var node in cluster.Nodes)
        {
            var counters = node.Security!.Verifier.Counters;
            Assert.That(counters.Verified, Is.GreaterThan(0));
            Assert.That(counters.Refused, Is.Zero, "no honest message may be refused once identities are known");
            Assert.That(node.Security.Counters.OrgMismatch + node.Security.Counters.NotMember + node.Security.Counters.ForeignBootstrap, Is.Zero);
        }

        // Flooding delivers each heartbeat about k times; each (PKI-ID, PeerTime) is verified at most once per peer.
        var stats = cluster.Nodes[1].GetStatistics();
        long verified = cluster.Nodes[1].Security!.Verifier.Counters.Verified;
        Assert.That(verified, Is.LessThanOrEqualTo(stats.AliveReceived - stats.AliveStale + stats.MembershipResponsesReceived * 6));
    }

    [Test]
    public async Task AliveCarriesTheCertificateOnlyDuringPublishCertPeriodAndLateJoinersPullIdentities()
    {
        await using var cluster = new SignedCluster { PublishCertPeriod = TimeSpan.FromSeconds(2) };
        cluster.Start();
        cluster.Start(bootstrap: 0);
        cluster.Start(bootstrap: 0);
        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(20), cluster.Views);
        cluster.Run(TimeSpan.FromSeconds(5)); // everyone is past publishCertPeriod now
        Assert.That(cluster.Nodes[0].Security!.AliveIdentity().Length, Is.LessThan(cluster.Nodes[0].Security!.MaxIdentityLength));

        var late = cluster.Start(bootstrap: 1);
        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(30), cluster.Views);
        Assert.That(late.Security!.Counters.IdentitiesPulled, Is.GreaterThanOrEqualTo(2), "the late joiner learns the older peers' certificates by identity pull");
        Assert.That(late.Security.Counters.IdentitiesRefused, Is.Zero);
    }

    [Test]
    public async Task UnsignedNodesKeepWorkingWithoutCredentials()
    {
        await using var cluster = new SignedCluster();
        cluster.Start(signed: false);
        cluster.Start(bootstrap: 0, signed: false);
        cluster.Start(bootstrap: 0, signed: false);
        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(20), cluster.Views);
        Assert.That(cluster.Nodes.All(n => n.Security is null && n.IdentityPull is null), Is.True);
    }

    [Test]
    public async Task ChannelSeamRefusesLeadershipAndStateInfoSignedByAPeerOutsideTheAllowedOrgs()
    {
        await using var cluster = new SignedCluster();
        var node = cluster.Start();
        var member = cluster.Cas["Org1"].IssuePeer("peer7.Org1", cluster.Time);
        var outsider = cluster.Cas["Org2"].IssuePeer("peer7.Org2", cluster.Time);
        using var memberSigner = new MessageSigner(member);
        using var outsiderSigner = new MessageSigner(outsider);
        node.Security!.Identities.TryLearn(member.Identity, out _, out _, out _);
        node.Security.Identities.TryLearn(outsider.Identity, out _, out _, out _);
        string[] channelOrgs = ["Org1"];

        bool Accept(byte[] envelope)
        {
            Assert.That(EnvelopeView.TryParse(envelope, out var view), Is.True);
            return node.Security.AcceptChannelMessage(view, SecurityTestKit.Source, channelOrgs);
        }

        Assert.That(Accept(SecurityTestKit.Seal(memberSigner, SecurityTestKit.Leadership(member.PkiId, 1, 1))), Is.True);
        Assert.That(Accept(SecurityTestKit.Seal(outsiderSigner, SecurityTestKit.Leadership(outsider.PkiId, 1, 1))), Is.False, "leadership by a non-member");
        Assert.That(Accept(SecurityTestKit.Seal(outsiderSigner, SecurityTestKit.StateInfo(outsider.PkiId, 1, 1, 5))), Is.False, "state info for a channel the sender is not in");
        Assert.That(Accept(SecurityTestKit.Seal(outsiderSigner, SecurityTestKit.Leadership(member.PkiId, 1, 2))), Is.False, "leadership claiming a member, signed by another key");
        Assert.That(node.Security.Counters.NotMember, Is.EqualTo(2));
        Assert.That(node.Security.Verifier.Counters.Forged, Is.EqualTo(1));
        member.Dispose();
        outsider.Dispose();
    }
}
