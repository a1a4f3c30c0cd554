using Engine.Membership;
using Engine.Transport.Memory;

namespace Engine.Tests.Discovery;

/// <summary>Fabric's discovery scenarios, in virtual time on the in-memory network, with Fabric's default timings.</summary>
public sealed class DiscoveryScenarioTests
{
    private static readonly TimeSpan AliveExpiration = TimeSpan.FromSeconds(25);
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2.5);

    [Test]
    public void FiveNodes_TwoStop_TheOthersConvergeToTwoAliveAndTwoDead()
    {
        var h = new DiscoveryHarness(5);
        h.Start(0);
        for (int i = 1; i < 5; i++)
        {
            h.Start(i, 0);
        }

        h.RunUntil(() => h.SeesExactly([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]), TimeSpan.FromSeconds(30), "five nodes see each other");

        var stoppedAt = h.Time.GetUtcNow();
        h.Stop(3);
        h.Stop(4);
        var took = h.RunUntil(() => h.SeesExactly([0, 1, 2], [0, 1, 2]) && h.SeesDead([0, 1, 2], [3, 4]), TimeSpan.FromMinutes(2), "survivors see 3 and 4 dead");

        Assert.Multiple(() =>
        {
            Assert.That(took, Is.LessThanOrEqualTo(AliveExpiration + CheckInterval), "dead within the expiration timeout and one check");
            Assert.That(h.Logs.Messages(3002).Count(m => m.Contains("is dead", StringComparison.Ordinal)), Is.EqualTo(6), "each survivor logs each death once");
            Assert.That(h.Logs.Messages(3001).Any(m => m.Contains("membership view changed: +", StringComparison.Ordinal)), Is.True);
            Assert.That(h.Changes.Count(c => c.Change.State == MemberState.Dead && c.At >= stoppedAt), Is.EqualTo(6));
        });

        // Stays that way: no flapping.
        h.Run(TimeSpan.FromMinutes(2));
        Assert.That(h.SeesExactly([0, 1, 2], [0, 1, 2]) && h.SeesDead([0, 1, 2], [3, 4]), Is.True, h.Describe());
    }
}
