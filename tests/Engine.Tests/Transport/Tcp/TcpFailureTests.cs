using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Engine.Diagnostics;
using Engine.Transport;
using Engine.Transport.Tcp;
using NUnit.Framework;

namespace Engine.Tests.Transport.Tcp;

[Category("Sockets")]
public class TcpFailureTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task A_start_on_a_taken_port_fails_cleanly_and_the_manager_can_start_elsewhere(CancellationToken cancellationToken)
    {
        // SocketTransport relies on this when the free UDP port it picked is taken for TCP: it retries with another pair.
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        squatter.Listen();
        var taken = PeerEndpoint.FromIPEndPoint((System.Net.IPEndPoint)squatter.LocalEndPoint!);

        await using var manager = new TcpConnectionManager(TcpTestKit.Options(), logger: null, TimeProvider.System);
        var handler = new RecordingHandler();
        var refused = Assert.ThrowsAsync<SocketException>(async () => await manager.StartAsync(handler, taken, cancellationToken));
        Assert.That(refused!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));

        await manager.StartAsync(handler, PeerEndpoint.Loopback(0), cancellationToken);
        Assert.That(manager.LocalEndpoint.Port, Is.Not.Zero.And.Not.EqualTo(taken.Port));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ClosedPortReportsTheLossThenBacksOffDoublingAndResetsOnSuccess(CancellationToken cancellationToken)
    {
        var time = new ManualTimeProvider();
        var (a, handler) = await TcpTestKit.StartAsync(TcpTestKit.Options(o =>
        {
            o.ReconnectBackoffInitial = TimeSpan.FromMilliseconds(100);
            o.ReconnectBackoffMax = TimeSpan.FromMilliseconds(400);
        }), time);
        await using (a)
        {
            ushort port = (ushort)TcpTestKit.FreeLoopbackPort();
            var peer = PeerEndpoint.Loopback(port);

            // The frame is queued while connecting; the refusal drops it (counted) and reports the loss.
            Assert.That(a.Send(peer, [1]), Is.EqualTo(SendStatus.Sent));
            await handler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
            Assert.That(handler.Losses.Single(), Is.EqualTo((peer, "connect failed: ConnectionRefused")));
            Assert.That(a.GetStats().FramesDroppedConnectionLost, Is.EqualTo(1));

            // Backing off: no attempt, no connection.
            Assert.That(a.Send(peer, [2]), Is.EqualTo(SendStatus.Unreachable));
            Assert.That(a.GetStats().ActiveConnections, Is.Zero);
            Assert.That(a.GetStats().FramesDroppedUnreachable, Is.EqualTo(1));

            // 100 ms later it tries again and fails again; now the wait is 200 ms, then 400 ms (the cap), then 400 ms.
            await FailAgainAfter(TimeSpan.FromMilliseconds(100), expectedLosses: 2);
            await FailAgainAfter(TimeSpan.FromMilliseconds(200), expectedLosses: 3);
            await FailAgainAfter(TimeSpan.FromMilliseconds(400), expectedLosses: 4);
            await FailAgainAfter(TimeSpan.FromMilliseconds(400), expectedLosses: 5);
            Assert.That(a.GetStats().ConnectFailures, Is.EqualTo(5));

            // The peer comes up: the next attempt connects, and success forgets the backoff.
            var (b, bHandler) = await TcpTestKit.StartAsync(TcpTestKit.Options(o => o.ListenEndpoint = peer));
            try
            {
                time.Advance(TimeSpan.FromMilliseconds(400));
                Assert.That(a.Send(peer, [3]), Is.EqualTo(SendStatus.Sent));
                await bHandler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);
            }
            finally
            {
                await b.DisposeAsync();
            }

            await handler.WaitUntilAsync(h => h.LossCount == 6, cancellationToken); // b went away
            await FailAgainAfter(TimeSpan.Zero, expectedLosses: 7);
            await FailAgainAfter(TimeSpan.FromMilliseconds(100), expectedLosses: 8); // back to the initial delay
        }

        async Task FailAgainAfter(TimeSpan wait, int expectedLosses)
        {
            var peerEndpoint = handler.Losses.First().Peer;
            if (wait > TimeSpan.Zero)
            {
                time.Advance(wait - TimeSpan.FromMilliseconds(1));
                Assert.That(a.Send(peerEndpoint, [4]), Is.EqualTo(SendStatus.Unreachable), $"still backing off 1 ms before {wait}");
                time.Advance(TimeSpan.FromMilliseconds(1));
            }

            Assert.That(a.Send(peerEndpoint, [5]), Is.EqualTo(SendStatus.Sent), $"tries again after {wait}");
            await handler.WaitUntilAsync(h => h.LossCount == expectedLosses, cancellationToken);
            Assert.That(a.Send(peerEndpoint, [6]), Is.EqualTo(SendStatus.Unreachable));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task FullSendQueueDropsAndCountsWithoutBlocking(CancellationToken cancellationToken)
    {
        const int QueueLimit = 64 * 1024;
        long queueFullMeasured = 0;
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == TransportMetrics.MeterName && instrument.Name == "engine.transport.frames.dropped")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "reason", Value: "queue_full" })
                {
                    Interlocked.Add(ref queueFullMeasured, value);
                }
            }
        });
        meters.Start();

        // A peer that accepts at the TCP level and never reads: its window and our socket buffer fill, then our queue.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        stalled.Bind(PeerEndpoint.Loopback(0).ToIPEndPoint());
        stalled.Listen(1);
        var peer = PeerEndpoint.FromIPEndPoint((System.Net.IPEndPoint)stalled.LocalEndPoint!);

        var (a, _) = await TcpTestKit.StartAsync(TcpTestKit.Options(o => o.MaxSendQueueBytes = QueueLimit));
        await using (a)
        {
            var body = new byte[16 * 1024];
            new Random(1).NextBytes(body);
            var clock = Stopwatch.StartNew();
            int sent = 0;
            int full = 0;
            for (int i = 0; i < 20_000 && full < 100; i++)
            {
                var status = a.Send(peer, body);
                if (status == SendStatus.Sent)
                {
                    sent++;
                }
                else
                {
                    Assert.That(status, Is.EqualTo(SendStatus.QueueFull));
                    full++;
                }
            }

            clock.Stop();
            Assert.That(full, Is.EqualTo(100), $"after {sent} frames the queue should have filled");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "sends never wait for the network");
            Assert.That(a.GetStats().FramesDroppedQueueFull, Is.EqualTo(100));
            Assert.That(Interlocked.Read(ref queueFullMeasured), Is.GreaterThanOrEqualTo(100), "counted in TransportMetrics with reason=queue_full");
            Assert.That(a.TryGetConnection(peer, out var connection), Is.True);
            Assert.That(connection!.QueuedBytes, Is.LessThanOrEqualTo(QueueLimit), "the queue stays bounded");
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task CloseIsIdempotentKeepsTheFirstReasonAndReportsOnce(CancellationToken cancellationToken)
    {
        var (a, aHandler) = await TcpTestKit.StartAsync();
        var (b, bHandler) = await TcpTestKit.StartAsync();
        await using (a)
        await using (b)
        {
            Assert.That(a.Send(b.LocalEndpoint, [1]), Is.EqualTo(SendStatus.Sent));
            await bHandler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);
            Assert.That(a.TryGetConnection(b.LocalEndpoint, out var connection), Is.True);

            connection!.Close(CloseCause.Closed, "first reason");
            connection.Close(CloseCause.Idle, "second reason");
            await connection.Completion.WaitAsync(cancellationToken);
            connection.Close(CloseCause.SendFailed, "third reason");

            Assert.That(connection.CloseReason, Is.EqualTo("first reason"));
            Assert.That(connection.CloseCause, Is.EqualTo(CloseCause.Closed));
            await aHandler.WaitUntilAsync(h => h.LossCount >= 1, cancellationToken);
            Assert.That(aHandler.Losses, Is.EqualTo(new[] { (b.LocalEndpoint, "first reason") }));
            Assert.That(a.GetStats().ConnectionsClosed, Is.EqualTo(1));

            // The peer is reached again on a new connection.
            Assert.That(a.Send(b.LocalEndpoint, [2]), Is.EqualTo(SendStatus.Sent));
            await bHandler.WaitUntilAsync(h => h.FrameCount == 2, cancellationToken);
            Assert.That(a.TryGetConnection(b.LocalEndpoint, out var second) && second != connection, Is.True);
            Assert.That(aHandler.LossCount, Is.EqualTo(1));
        }
    }
}
