using System.Buffers.Binary;
using Engine.Transport;
using NUnit.Framework;

namespace Engine.Tests.Transport.Tcp;

/// <summary>Bad input closes only the connection it came on; the listener and every other connection carry on.</summary>
[Category("Sockets")]
public class TcpHostileInputTests
{
    private static readonly PeerEndpoint RawPeer = PeerEndpoint.Loopback(40_001);
    private static readonly int[] ClaimedPorts = [41_000, 41_001, 41_002];

    [Test]
    [CancelAfter(10_000)]
    public Task MalformedFrameClosesOnlyItsOwnConnection(CancellationToken cancellationToken) =>
        AssertOnlyOffenderClosed(
            TcpTestKit.HandshakeFrame(RawPeer),
            [0, 0, 0, 4, 7, 2, 0, 0, 1, 2, 3, 4], // version 7
            expectLossReason: "frame version 7 is not supported",
            cancellationToken);

    [Test]
    [CancelAfter(10_000)]
    public Task FrameOfAnUnknownTypeClosesOnlyItsOwnConnection(CancellationToken cancellationToken) =>
        AssertOnlyOffenderClosed(
            TcpTestKit.HandshakeFrame(RawPeer),
            [0, 0, 0, 1, 1, 9, 0, 0, 7], // type 9
            expectLossReason: "unknown frame type 9",
            cancellationToken);

    [Test]
    [CancelAfter(10_000)]
    public Task OversizedFrameHeaderClosesOnlyItsOwnConnection(CancellationToken cancellationToken) =>
        AssertOnlyOffenderClosed(
            TcpTestKit.HandshakeFrame(RawPeer),
            [0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 0, 0], // 2 GiB body announced; only the header is ever sent
            expectLossReason: "exceeds the maximum",
            cancellationToken);

    [Test]
    [CancelAfter(10_000)]
    public Task BadLz4BodyClosesOnlyItsOwnConnection(CancellationToken cancellationToken)
    {
        byte[] frame = [0, 0, 0, 12, 1, 2, 1, 0, 0, 0, 0x03, 0xE8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        return AssertOnlyOffenderClosed(TcpTestKit.HandshakeFrame(RawPeer), frame, expectLossReason: "malformed LZ4 block", cancellationToken);
    }

    [Test]
    [CancelAfter(10_000)]
    public Task DecompressionBombClosesOnlyItsOwnConnection(CancellationToken cancellationToken)
    {
        var frame = new byte[FrameHeaderSize + 4];
        BinaryPrimitives.WriteUInt32BigEndian(frame, 1_000_000); // body announced, never sent
        frame[4] = 1;
        frame[5] = 2;
        frame[6] = 1; // LZ4
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), uint.MaxValue); // claims 4 GiB uncompressed
        return AssertOnlyOffenderClosed(TcpTestKit.HandshakeFrame(RawPeer), frame, expectLossReason: "claims 4294967295 bytes uncompressed", cancellationToken);
    }

    [Test]
    [CancelAfter(10_000)]
    public Task MessageBeforeTheHandshakeClosesTheConnection(CancellationToken cancellationToken) =>
        AssertOnlyOffenderClosed([], TcpTestKit.Frame(Engine.Transport.FrameType.Message, [1, 2, 3]), expectLossReason: null, cancellationToken);

    [Test]
    [CancelAfter(10_000)]
    public Task GarbageHandshakeClosesTheConnection(CancellationToken cancellationToken) =>
        AssertOnlyOffenderClosed([], TcpTestKit.Frame(Engine.Transport.FrameType.Handshake, [0xFF, 0xFF, 0xFF]), expectLossReason: null, cancellationToken);

    [Test]
    [CancelAfter(10_000)]
    public async Task InboundConnectionsBeyondTheCapAreRefusedAndTheOthersKeepWorking(CancellationToken cancellationToken)
    {
        var (server, handler) = await TcpTestKit.StartAsync(TcpTestKit.Options(o => o.MaxInboundConnections = 3));
        await using (server)
        {
            var admitted = new List<System.Net.Sockets.Socket>();
            try
            {
                for (int i = 0; i < 3; i++)
                {
                    var socket = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken);
                    admitted.Add(socket);
                    Assert.That(await TcpTestKit.ReadHandshakeAsync(socket, cancellationToken), Is.EqualTo(server.LocalEndpoint));
                }

                using (var excess = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken))
                {
                    await TcpTestKit.WaitForRemoteCloseAsync(excess, cancellationToken);
                }

                Assert.That(server.GetStats().ConnectionsRefused, Is.EqualTo(1));
                Assert.That(server.GetStats().InboundConnections, Is.EqualTo(3));

                for (int i = 0; i < 3; i++)
                {
                    var claimed = PeerEndpoint.Loopback((ushort)(41_000 + i));
                    await TcpTestKit.SendAsync(admitted[i], [.. TcpTestKit.HandshakeFrame(claimed), .. TcpTestKit.Frame(Engine.Transport.FrameType.Message, [(byte)i])], cancellationToken);
                }

                await handler.WaitUntilAsync(h => h.FrameCount == 3, cancellationToken);
                Assert.That(handler.Frames.Select(f => f.Source.Port), Is.EquivalentTo(ClaimedPorts));

                // Closing one frees a slot.
                admitted[0].Dispose();
                await handler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
                using var late = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken);
                Assert.That(await TcpTestKit.ReadHandshakeAsync(late, cancellationToken), Is.EqualTo(server.LocalEndpoint));
            }
            finally
            {
                admitted.ForEach(s => s.Dispose());
            }
        }
    }

    private const int FrameHeaderSize = 8;

    private static async Task AssertOnlyOffenderClosed(byte[] preamble, byte[] offence, string? expectLossReason, CancellationToken cancellationToken)
    {
        var (server, serverHandler) = await TcpTestKit.StartAsync();
        var (good, _) = await TcpTestKit.StartAsync();
        await using (server)
        await using (good)
        {
            Assert.That(good.Send(server.LocalEndpoint, [1]), Is.EqualTo(SendStatus.Sent));
            await serverHandler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);

            using (var raw = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken))
            {
                if (preamble.Length > 0)
                {
                    // A valid start (handshake and one frame), so the offence is what closes it.
                    await TcpTestKit.SendAsync(raw, [.. preamble, .. TcpTestKit.Frame(Engine.Transport.FrameType.Message, [9])], cancellationToken);
                    await serverHandler.WaitUntilAsync(h => h.FrameCount == 2, cancellationToken);
                }

                await TcpTestKit.SendAsync(raw, offence, cancellationToken);
                await TcpTestKit.WaitForRemoteCloseAsync(raw, cancellationToken);
            }

            if (expectLossReason is not null)
            {
                await serverHandler.WaitUntilAsync(h => h.LossCount == 1, cancellationToken);
                var (peer, reason) = serverHandler.Losses.Single();
                Assert.That(peer, Is.EqualTo(RawPeer));
                Assert.That(reason, Does.Contain(expectLossReason));
            }

            // The good peer's connection and the listener are untouched.
            Assert.That(good.Send(server.LocalEndpoint, [2]), Is.EqualTo(SendStatus.Sent));
            int before = serverHandler.FrameCount;
            await serverHandler.WaitUntilAsync(h => h.FrameCount == before + 1, cancellationToken);
            Assert.That(serverHandler.Frames.Last().Payload, Is.EqualTo(new byte[] { 2 }));
            Assert.That(serverHandler.Losses.Select(l => l.Peer), Does.Not.Contain(good.LocalEndpoint));
            Assert.That(good.GetStats().ConnectionsClosed, Is.Zero);
            await TcpTestKit.EventuallyAsync(() => server.GetStats().ActiveConnections == 1, cancellationToken);
            Assert.That(server.GetStats().MalformedFrames + server.GetStats().ConnectionsClosed, Is.GreaterThanOrEqualTo(1));

            using var another = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken);
            Assert.That(await TcpTestKit.ReadHandshakeAsync(another, cancellationToken), Is.EqualTo(server.LocalEndpoint), "the listener still accepts");
        }
    }
}
