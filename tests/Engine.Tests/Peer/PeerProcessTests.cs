using System.Text.RegularExpressions;

namespace Engine.Tests.Peer;

/// <summary>The peer as an operator runs it: a real OS process.</summary>
[Category("Sockets")]
public sealed class PeerProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Test]
    [CancelAfter(30_000)]
    public async Task BadConfiguration_StopsThePeerAtStart_WithExitCode2_AndTheKeyNamed(CancellationToken cancellationToken)
    {
        using var peer = PeerProcess.Start("--set", "gossip.aliveTimeInterval=5", "--set", "gossip.noSuchKey=1");
        int exit = await peer.WaitForExitAsync(Deadline, cancellationToken);
        Assert.That(exit, Is.EqualTo(2), peer.Error);
        Assert.That(peer.Error, Does.Contain("--set: gossip.aliveTimeInterval: '5' has no unit"));
        Assert.That(peer.Error, Does.Contain("--set: gossip.noSuchKey: unknown key"));
        Assert.That(peer.Error + peer.Output, Does.Not.Contain("   at "), "no stack trace");
    }
}
