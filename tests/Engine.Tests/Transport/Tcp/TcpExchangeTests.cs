using System.Collections.Concurrent;
using Engine.Transport;
using Engine.Transport.Tcp;
using NUnit.Framework;

namespace Engine.Tests.Transport.Tcp;

[Category("Sockets")]
public class TcpExchangeTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task TwoHundredConnectionsExchangeFramesBothWaysWithoutLossOrCorruption(CancellationToken cancellationToken)
    {
        const int Clients = 200;
        const int FramesEach = 10;
        var problems = new ConcurrentQueue<string>();
        var (server, serverHandler) = await TcpTestKit.StartAsync();
        var clients = new List<(TcpConnectionManager Manager, RecordingHandler Handler)>();
        try
        {
            var originOf = new ConcurrentDictionary<PeerEndpoint, int>();
            var nextFromClient = new ConcurrentDictionary<int, int>();
            serverHandler.OnFrameReceived = (source, body) =>
            {
                // Check what arrived (right client, next in sequence, intact), then echo it back on the same connection.
                if (!TcpTestKit.TryReadStamp(body, out int origin, out int sequence))
                {
                    problems.Enqueue($"server: corrupt frame from {source}");
                    return;
                }

                if (!originOf.TryGetValue(source, out int expectedOrigin) || expectedOrigin != origin)
                {
                    problems.Enqueue($"server: frame of client {origin} arrived from {source}");
                }

                int expected = nextFromClient.AddOrUpdate(origin, 1, (_, n) => n + 1) - 1;
                if (sequence != expected)
                {
                    problems.Enqueue($"server: client {origin} frame {sequence} arrived when {expected} was due");
                }

                var status = server.Send(source, body);
                if (status != SendStatus.Sent)
                {
                    problems.Enqueue($"server: echo to {source} returned {status}");
                }
            };

            for (int i = 0; i < Clients; i++)
            {
                var client = await TcpTestKit.StartAsync();
                originOf[client.Manager.LocalEndpoint] = i;
                clients.Add(client);
            }

            // Mixed sizes; the larger compressible bodies go LZ4 (threshold 4 KiB), the random ones raw.
            int[] sizes = [16, 200, 1_500, 5_000, 20_000];
            for (int sequence = 0; sequence < FramesEach; sequence++)
            {
                for (int i = 0; i < Clients; i++)
                {
                    var body = TcpTestKit.StampedBody(i, sequence, sizes[(i + sequence) % sizes.Length], compressible: sequence % 2 == 0);
                    Assert.That(clients[i].Manager.Send(server.LocalEndpoint, body), Is.EqualTo(SendStatus.Sent));
                }
            }

            await serverHandler.WaitUntilAsync(h => h.FrameCount >= Clients * FramesEach || !problems.IsEmpty, cancellationToken);
            for (int i = 0; i < Clients; i++)
            {
                await clients[i].Handler.WaitUntilAsync(h => h.FrameCount >= FramesEach || !problems.IsEmpty, cancellationToken);
            }

            Assert.That(problems, Is.Empty);
            for (int i = 0; i < Clients; i++)
            {
                int expected = 0;
                foreach (var (source, body) in clients[i].Handler.Frames)
                {
                    Assert.That(source, Is.EqualTo(server.LocalEndpoint));
                    Assert.That(TcpTestKit.TryReadStamp(body, out int origin, out int sequence), Is.True, $"client {i}: corrupt echo");
                    Assert.That((origin, sequence), Is.EqualTo((i, expected++)), $"client {i}: echoes out of order");
                }

                Assert.That(expected, Is.EqualTo(FramesEach));
            }

            var stats = server.GetStats();
            Assert.That(stats.InboundConnections, Is.EqualTo(Clients), "one connection per client");
            Assert.That(stats.ActiveConnections, Is.EqualTo(Clients), "echoes reuse the inbound connections");
            Assert.That(stats.FramesReceived, Is.EqualTo(Clients * FramesEach));
            Assert.That(stats.FramesSent, Is.EqualTo(Clients * FramesEach));
            Assert.That(stats.FramesCompressed, Is.GreaterThan(0));
            Assert.That(stats.FramesDropped, Is.Zero);
            Assert.That(serverHandler.LossCount, Is.Zero);
        }
        finally
        {
            foreach (var (manager, _) in clients)
            {
                await manager.DisposeAsync();
            }

            await server.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task PeersConnectingToEachOtherAtOnceEndWithOneConnectionAndEveryFrameInOrder(CancellationToken cancellationToken)
    {
        const int Frames = 300;
        long retired = 0;

        // Each round is a fresh pair whose first sends cross on the wire; repeated so the crossing is exercised for sure.
        for (int round = 0; round < 3; round++)
        {
            var (a, aHandler) = await TcpTestKit.StartAsync();
            var (b, bHandler) = await TcpTestKit.StartAsync();
            try
            {
                // The first frames leave back to back on one thread: both connects start before either handshake can
                // have been read, so the connections cross. The rest follow from two threads at once.
                Assert.That(a.Send(b.LocalEndpoint, TcpTestKit.StampedBody(1, 0, 1000, compressible: true)), Is.EqualTo(SendStatus.Sent));
                Assert.That(b.Send(a.LocalEndpoint, TcpTestKit.StampedBody(2, 0, 1000, compressible: true)), Is.EqualTo(SendStatus.Sent));
                var fromA = Task.Run(() => SendBurst(a, b.LocalEndpoint, origin: 1), cancellationToken);
                var fromB = Task.Run(() => SendBurst(b, a.LocalEndpoint, origin: 2), cancellationToken);
                await Task.WhenAll(fromA, fromB);

                await bHandler.WaitUntilAsync(h => h.FrameCount >= Frames, cancellationToken);
                await aHandler.WaitUntilAsync(h => h.FrameCount >= Frames, cancellationToken);
                AssertInOrder(bHandler, a.LocalEndpoint, origin: 1);
                AssertInOrder(aHandler, b.LocalEndpoint, origin: 2);

                // The duplicate drains and closes; then each side holds exactly one connection, the same one.
                await TcpTestKit.EventuallyAsync(() => a.GetStats().ActiveConnections == 1 && b.GetStats().ActiveConnections == 1, cancellationToken);
                Assert.That(a.TryGetConnection(b.LocalEndpoint, out var aToB) && b.TryGetConnection(a.LocalEndpoint, out var bToA), Is.True);
                Assert.That(a.GetStats().FramesDropped + b.GetStats().FramesDropped, Is.Zero);
                Assert.That(aHandler.LossCount + bHandler.LossCount, Is.Zero);

                // And it still carries traffic both ways.
                Assert.That(a.Send(b.LocalEndpoint, TcpTestKit.StampedBody(1, Frames, 10, false)), Is.EqualTo(SendStatus.Sent));
                Assert.That(b.Send(a.LocalEndpoint, TcpTestKit.StampedBody(2, Frames, 10, false)), Is.EqualTo(SendStatus.Sent));
                await bHandler.WaitUntilAsync(h => h.FrameCount == Frames + 1, cancellationToken);
                await aHandler.WaitUntilAsync(h => h.FrameCount == Frames + 1, cancellationToken);
                retired += a.GetStats().ConnectionsRetired + b.GetStats().ConnectionsRetired;
            }
            finally
            {
                await a.DisposeAsync();
                await b.DisposeAsync();
            }
        }

        TestContext.Out.WriteLine($"duplicate connections retired in 3 rounds: {retired}");
        Assert.That(retired, Is.GreaterThanOrEqualTo(1), "the connections crossed (one side retired its own)");

        static void SendBurst(TcpConnectionManager from, PeerEndpoint to, int origin)
        {
            for (int i = 1; i < Frames; i++)
            {
                var status = from.Send(to, TcpTestKit.StampedBody(origin, i, 1000, compressible: i % 3 == 0));
                Assert.That(status, Is.EqualTo(SendStatus.Sent), $"frame {i}");
                if (i % 50 == 0)
                {
                    Thread.Yield(); // let the handshakes cross mid-burst, so frames sit on both connections
                }
            }
        }

        static void AssertInOrder(RecordingHandler handler, PeerEndpoint expectedSource, int origin)
        {
            int expected = 0;
            foreach (var (source, body) in handler.Frames)
            {
                Assert.That(source, Is.EqualTo(expectedSource));
                Assert.That(TcpTestKit.TryReadStamp(body, out int o, out int sequence), Is.True, "corrupt frame");
                Assert.That((o, sequence), Is.EqualTo((origin, expected++)), "frames out of order");
            }
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task LargeFramesCrossIntactEvenWhenLargerThanTheSendQueue(CancellationToken cancellationToken)
    {
        // 1 MiB frames through a 64 KiB send queue: an empty queue takes one frame whatever its size; the next waits.
        var options = TcpTestKit.Options(o => o.MaxSendQueueBytes = 64 * 1024);
        var (a, _) = await TcpTestKit.StartAsync(options);
        var (b, bHandler) = await TcpTestKit.StartAsync(options);
        await using (a)
        await using (b)
        {
            var bodies = new List<byte[]>
            {
                TcpTestKit.StampedBody(1, 0, 1 << 20, compressible: true),
                TcpTestKit.StampedBody(1, 1, 1 << 20, compressible: false),
                TcpTestKit.StampedBody(1, 2, 100_000, compressible: true),
            };
            foreach (var body in bodies)
            {
                SendStatus status;
                while ((status = a.Send(b.LocalEndpoint, body)) == SendStatus.QueueFull)
                {
                    await Task.Yield();
                }

                Assert.That(status, Is.EqualTo(SendStatus.Sent));
            }

            await bHandler.WaitUntilAsync(h => h.FrameCount == bodies.Count, cancellationToken);
            Assert.That(bHandler.Frames.Select(f => f.Payload), Is.EqualTo(bodies));
            Assert.That(a.GetStats().FramesCompressed, Is.EqualTo(2));
            Assert.That(a.GetStats().BytesSent, Is.LessThan((1 << 20) + 200_000), "the compressible megabyte went small");
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task APeerCanSendFramesToItself(CancellationToken cancellationToken)
    {
        var (a, handler) = await TcpTestKit.StartAsync();
        await using (a)
        {
            for (int i = 0; i < 10; i++)
            {
                Assert.That(a.Send(a.LocalEndpoint, TcpTestKit.StampedBody(0, i, 100, false)), Is.EqualTo(SendStatus.Sent));
            }

            await handler.WaitUntilAsync(h => h.FrameCount == 10, cancellationToken);
            Assert.That(handler.Frames.Select(f => f.Source).Distinct(), Is.EqualTo(new[] { a.LocalEndpoint }));
            Assert.That(handler.Frames.Select(f => TcpTestKit.TryReadStamp(f.Payload, out _, out int seq) ? seq : -1), Is.EqualTo(Enumerable.Range(0, 10)));
            Assert.That(a.TryGetConnection(a.LocalEndpoint, out var connection) && !connection.IsInbound, Is.True, "sends stay on the outbound end");
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task BodyAboveTheMaximumIsRefusedAsTooLarge(CancellationToken cancellationToken)
    {
        var (a, _) = await TcpTestKit.StartAsync(TcpTestKit.Options(o => o.MaxFramePayload = 4096));
        await using (a)
        {
            Assert.That(a.Send(PeerEndpoint.Loopback(9), new byte[4097]), Is.EqualTo(SendStatus.TooLarge));
            Assert.That(a.GetStats().FramesDroppedTooLarge, Is.EqualTo(1));
            Assert.That(a.GetStats().ActiveConnections, Is.Zero, "no connection opened for it");
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task DisposeClosesEveryConnectionAndThePeerIsTold(CancellationToken cancellationToken)
    {
        var (a, aHandler) = await TcpTestKit.StartAsync();
        var (b, bHandler) = await TcpTestKit.StartAsync();
        await using (a)
        {
            Assert.That(a.Send(b.LocalEndpoint, [1, 2, 3]), Is.EqualTo(SendStatus.Sent));
            await bHandler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);
            Assert.That(b.TryGetConnection(a.LocalEndpoint, out var inbound), Is.True);

            await b.DisposeAsync();
            Assert.That(inbound!.Completion.IsCompleted, Is.True, "dispose waits for the connection's loops");
            Assert.That(inbound.CloseReason, Is.EqualTo("transport disposed"));
            Assert.That(b.GetStats().ActiveConnections, Is.Zero);
            Assert.That(b.Send(a.LocalEndpoint, [1]), Is.EqualTo(SendStatus.Closed));

            await aHandler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
            Assert.That(aHandler.Losses.Single(), Is.EqualTo((b.LocalEndpoint, "remote closed")));
            Assert.That(bHandler.LossCount, Is.Zero, "no callbacks from a disposed manager");
        }
    }
}
