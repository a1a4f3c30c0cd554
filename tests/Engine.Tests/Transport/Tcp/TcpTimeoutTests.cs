using Engine.Transport;
using Engine.Transport.Tcp;
using NUnit.Framework;

namespace Engine.Tests.Transport.Tcp;

/// <summary>Idle, keepalive, handshake and slow-drip deadlines, driven by a manual clock (real sockets, no sleeps).</summary>
[Category("Sockets")]
public class TcpTimeoutTests
{
    private static readonly PeerEndpoint RawPeer = PeerEndpoint.Loopback(40_002);

    [Test]
    [CancelAfter(10_000)]
    public async Task PartialFrameNotFinishedInTimeIsClosedEvenWhileBytesKeepDripping(CancellationToken cancellationToken)
    {
        var time = new ManualTimeProvider();
        var (server, handler) = await TcpTestKit.StartAsync(TcpTestKit.Options(o =>
        {
            o.IdleTimeout = TimeSpan.FromSeconds(60);
            o.FrameReadTimeout = TimeSpan.FromSeconds(2);
        }), time);
        await using (server)
        {
            using var raw = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken);
            await TcpTestKit.SendAsync(raw, [.. TcpTestKit.HandshakeFrame(RawPeer), .. TcpTestKit.Frame(FrameType.Message, [1])], cancellationToken);
            await handler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);

            Assert.That(server.TryGetConnection(RawPeer, out var connection), Is.True);
            Assert.That(server.SweepInterval, Is.EqualTo(TimeSpan.FromSeconds(0.5)));

            // A frame of 100 bytes, one byte every half second: the connection is never idle, but the frame never completes.
            byte[] frame = TcpTestKit.Frame(FrameType.Message, new byte[100]);
            for (int i = 0; i < 4; i++)
            {
                long before = server.GetStats().BytesReceived;
                await TcpTestKit.SendAsync(raw, frame[i..(i + 1)], cancellationToken);
                await TcpTestKit.EventuallyAsync(() => server.GetStats().BytesReceived > before, cancellationToken);
                time.Advance(TimeSpan.FromSeconds(0.5)); // the sweep runs synchronously inside Advance
                Assert.That(connection!.IsClosed, Is.EqualTo(i == 3), $"{(i + 1) * 0.5} s into the frame");
            }

            await handler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
            Assert.That(handler.Losses.Single().Peer, Is.EqualTo(RawPeer));
            Assert.That(handler.Losses.Single().Reason, Does.StartWith("frame read timeout"));
            await TcpTestKit.WaitForRemoteCloseAsync(raw, cancellationToken);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ConnectionThatReceivesNothingForTheIdleTimeoutIsClosed(CancellationToken cancellationToken)
    {
        var time = new ManualTimeProvider();
        var (server, handler) = await TcpTestKit.StartAsync(TcpTestKit.Options(o =>
        {
            o.IdleTimeout = TimeSpan.FromSeconds(3);
            o.FrameReadTimeout = TimeSpan.FromSeconds(2);
        }), time);
        await using (server)
        {
            using var raw = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken);
            await TcpTestKit.SendAsync(raw, [.. TcpTestKit.HandshakeFrame(RawPeer), .. TcpTestKit.Frame(FrameType.Message, [1])], cancellationToken);
            await handler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);

            // The sweep runs every quarter second: the one just before the deadline passes, the one at it closes.
            Assert.That(server.SweepInterval, Is.EqualTo(TimeSpan.FromSeconds(0.25)));
            time.Advance(TimeSpan.FromSeconds(2.75));
            Assert.That(server.TryGetConnection(RawPeer, out var connection) && !connection.IsClosed, Is.True, "not idle yet");
            time.Advance(TimeSpan.FromSeconds(0.25));
            await handler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
            Assert.That(handler.Losses.Single(), Is.EqualTo((RawPeer, "idle")));
            await TcpTestKit.WaitForRemoteCloseAsync(raw, cancellationToken);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ConnectionThatNeverHandshakesIsClosed(CancellationToken cancellationToken)
    {
        var time = new ManualTimeProvider();
        var (server, _) = await TcpTestKit.StartAsync(TcpTestKit.Options(o => o.FrameReadTimeout = TimeSpan.FromSeconds(2)), time);
        await using (server)
        {
            using var raw = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken);
            await TcpTestKit.ReadHandshakeAsync(raw, cancellationToken); // accepted
            time.Advance(TimeSpan.FromSeconds(2));
            await TcpTestKit.WaitForRemoteCloseAsync(raw, cancellationToken);
            await TcpTestKit.EventuallyAsync(() => server.GetStats().ActiveConnections == 0, cancellationToken);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task KeepalivesDoNotHoldAnUnusedConnectionOpen_ItClosesAtTheIdleTimeout(CancellationToken cancellationToken)
    {
        var time = new ManualTimeProvider();
        var (a, aHandler, b, bHandler) = await StartPairAsync(time);
        await using (a)
        await using (b)
        {
            Assert.That(a.Send(b.LocalEndpoint, [1]), Is.EqualTo(SendStatus.Sent));
            await bHandler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);
            Assert.That(b.Send(a.LocalEndpoint, [2]), Is.EqualTo(SendStatus.Sent));
            await aHandler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);

            // Silence, in steps a little over the keepalive interval (1 s): both ends send keepalives, and both hear them.
            for (int step = 1; step <= 2; step++)
            {
                long aKeepalives = a.GetStats().KeepalivesReceived;
                long bKeepalives = b.GetStats().KeepalivesReceived;
                time.Advance(TimeSpan.FromSeconds(1.1));
                await TcpTestKit.EventuallyAsync(
                    () => a.GetStats().KeepalivesReceived > aKeepalives && b.GetStats().KeepalivesReceived > bKeepalives, cancellationToken);
                Assert.That(a.GetStats().ActiveConnections, Is.EqualTo(1), $"{step * 1.1:F1} s: still open");
            }

            // 3.3 s after the last message: idle, whatever the keepalives say (they only check a path in use).
            time.Advance(TimeSpan.FromSeconds(1.1));
            await aHandler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
            await bHandler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
            Assert.That(aHandler.Losses.Single(), Is.EqualTo((b.LocalEndpoint, "idle")));
            await TcpTestKit.EventuallyAsync(() => a.GetStats().ActiveConnections == 0 && b.GetStats().ActiveConnections == 0, cancellationToken);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AConnectionUsedOneWay_StaysOpen_TheReceiversKeepalivesShowTheSenderItIsThere(CancellationToken cancellationToken)
    {
        var time = new ManualTimeProvider();
        var (a, aHandler, b, bHandler) = await StartPairAsync(time);
        await using (a)
        await using (b)
        {
            // a sends a message every 1.1 s for 6.6 s, twice the idle timeout; b never sends one. Without b's keepalives
            // a would hear nothing from b for the idle timeout and close.
            for (int step = 1; step <= 6; step++)
            {
                Assert.That(a.Send(b.LocalEndpoint, [(byte)step]), Is.EqualTo(SendStatus.Sent));
                await bHandler.WaitUntilAsync(h => h.FrameCount == step, cancellationToken);
                long aKeepalives = a.GetStats().KeepalivesReceived;
                time.Advance(TimeSpan.FromSeconds(1.1));
                if (step > 1)
                {
                    await TcpTestKit.EventuallyAsync(() => a.GetStats().KeepalivesReceived > aKeepalives, cancellationToken);
                }
            }

            Assert.That(aHandler.LossCount + bHandler.LossCount, Is.Zero);
            Assert.That(a.GetStats().ConnectionsClosed + b.GetStats().ConnectionsClosed, Is.Zero);
            Assert.That(aHandler.FrameCount, Is.Zero, "b sent no message");
        }
    }

    /// <summary>Two transports on a manual clock: idle timeout 3 s (keepalives after 1 s of sending nothing), frame read timeout 2 s.</summary>
    private static async Task<(TcpConnectionManager A, RecordingHandler AHandler, TcpConnectionManager B, RecordingHandler BHandler)> StartPairAsync(ManualTimeProvider time)
    {
        var options = TcpTestKit.Options(o =>
        {
            o.IdleTimeout = TimeSpan.FromSeconds(3);
            o.FrameReadTimeout = TimeSpan.FromSeconds(2);
        });
        var (a, aHandler) = await TcpTestKit.StartAsync(options, time);
        var (b, bHandler) = await TcpTestKit.StartAsync(options, time);
        return (a, aHandler, b, bHandler);
    }
}
