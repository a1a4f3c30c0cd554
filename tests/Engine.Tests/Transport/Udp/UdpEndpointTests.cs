using System.Net;
using System.Net.Sockets;
using Engine.Transport;
using Engine.Transport.Udp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Tests.Transport.Udp;

/// <summary>Every test runs twice: with the dedicated receive thread (the default) and with thread-pool receives.</summary>
[Category("Sockets")]
[TestFixture(true)]
[TestFixture(false)]
public sealed class UdpEndpointTests(bool receiveThread)
{
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(5);

    private UdpEndpoint Create(ILogger? logger = null, int maxPayload = 1400) =>
        new(new TransportOptions { ListenEndpoint = PeerEndpoint.Loopback(0), MaxDatagramPayload = maxPayload, UdpReceiveThread = receiveThread }, logger ?? NullLogger.Instance);

    private static Socket RawSender()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static byte[] Valid(params byte[] body)
    {
        var datagram = new byte[DatagramHeader.Size + body.Length];
        DatagramHeader.Write(datagram, DatagramType.Envelopes);
        body.CopyTo(datagram, DatagramHeader.Size);
        return datagram;
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Send_OnLoopback_DeliversTheBodyIntactWithTheSenderEndpoint(CancellationToken cancellationToken)
    {
        using var collector = new DatagramCollector();
        await using var sender = Create();
        await using var receiver = Create();
        sender.Bind();
        receiver.Start(collector);
        var body = new byte[200];
        new Random(7).NextBytes(body);

        var status = sender.Send(receiver.LocalEndpoint, body);

        Assert.That(status, Is.EqualTo(SendStatus.Sent));
        Assert.That(await collector.WaitForCountAsync(1, WaitTimeout, cancellationToken), Is.True, "datagram not received");
        Assert.That(collector.Datagrams.TryPeek(out var got), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(got.Body, Is.EqualTo(body));
            Assert.That(got.Source, Is.EqualTo(sender.LocalEndpoint));
            Assert.That(sender.LocalEndpoint.Port, Is.Not.Zero);
            Assert.That(sender.Stats.Sent, Is.EqualTo(1));
            Assert.That(sender.Stats.SentBytes, Is.EqualTo(DatagramHeader.Size + body.Length));
            Assert.That(receiver.Stats.Received, Is.EqualTo(1));
            Assert.That(receiver.Stats.ReceivedBytes, Is.EqualTo(DatagramHeader.Size + body.Length));
        });
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Send_OnIPv6Loopback_ReadsTheSixteenByteSourceAddress(CancellationToken cancellationToken)
    {
        using var collector = new DatagramCollector();
        var options = new TransportOptions { ListenEndpoint = PeerEndpoint.FromAddress(IPAddress.IPv6Loopback, 0), UdpReceiveThread = receiveThread };
        await using var sender = new UdpEndpoint(options, NullLogger.Instance);
        await using var receiver = new UdpEndpoint(options, NullLogger.Instance);
        try
        {
            sender.Bind();
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported)
        {
            Assert.Ignore($"IPv6 loopback is not available here: {e.SocketErrorCode}");
        }

        receiver.Start(collector);

        Assert.That(sender.Send(receiver.LocalEndpoint, [6, 6]), Is.EqualTo(SendStatus.Sent));
        Assert.That(await collector.WaitForCountAsync(1, WaitTimeout, cancellationToken), Is.True);
        var got = collector.Datagrams.Single();
        Assert.That(got.Source, Is.EqualTo(sender.LocalEndpoint));
        Assert.That(got.Source.ToString(), Does.StartWith("[::1]:"));
        Assert.That(got.Body, Is.EqualTo(new byte[] { 6, 6 }));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Send_OversizeBody_ReturnsTooLargeAndSendsNothing(CancellationToken cancellationToken)
    {
        using var collector = new DatagramCollector();
        await using var sender = Create(maxPayload: 100);
        await using var receiver = Create(maxPayload: 1000);
        sender.Bind();
        receiver.Start(collector);

        var tooLarge = sender.Send(receiver.LocalEndpoint, new byte[101]);
        var fits = sender.Send(receiver.LocalEndpoint, new byte[100]);

        Assert.That(tooLarge, Is.EqualTo(SendStatus.TooLarge));
        Assert.That(fits, Is.EqualTo(SendStatus.Sent));
        Assert.That(await collector.WaitForCountAsync(1, WaitTimeout, cancellationToken), Is.True);
        Assert.Multiple(() =>
        {
            // Had the 101-byte body gone out, the receiver (which accepts up to 1000) would have delivered it first.
            Assert.That(collector.Datagrams.Single().Body, Has.Length.EqualTo(100));
            Assert.That(sender.Stats.Sent, Is.EqualTo(1));
            Assert.That(sender.Stats.SendTooLarge, Is.EqualTo(1));
            Assert.That(receiver.Stats.Dropped, Is.Zero);
        });
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task InvalidDatagrams_AreDroppedCountedAndLogged_AndTheLoopSurvives(CancellationToken cancellationToken)
    {
        var logger = new CapturingLogger();
        using var collector = new DatagramCollector();
        await using var receiver = Create(logger);
        receiver.Start(collector);
        using var raw = RawSender();
        var target = receiver.LocalEndpoint.ToIPEndPoint();
        var huge = new byte[DatagramHeader.MaxUdpPayload]; // the largest IPv4 UDP payload, just under 64 KiB
        DatagramHeader.Write(huge, DatagramType.Envelopes);

        raw.SendTo("garbage!"u8, SocketFlags.None, target);                          // bad magic
        raw.SendTo(new byte[] { DatagramHeader.Magic0, DatagramHeader.Magic1 }, target); // truncated header
        raw.SendTo(Valid(), SocketFlags.None, target);                              // header, no body
        raw.SendTo(new byte[] { DatagramHeader.Magic0, DatagramHeader.Magic1, 9, 1, 42 }, target); // bad version
        raw.SendTo(new byte[] { DatagramHeader.Magic0, DatagramHeader.Magic1, DatagramHeader.CurrentVersion, 77, 42 }, target); // unknown type
        raw.SendTo(huge, SocketFlags.None, target);                                 // too large
        raw.SendTo(Valid(1, 2, 3), SocketFlags.None, target);

        Assert.That(await collector.WaitForCountAsync(1, WaitTimeout, cancellationToken), Is.True, "the valid datagram after the bad ones was not received");
        var stats = receiver.Stats;
        Assert.Multiple(() =>
        {
            Assert.That(collector.Datagrams.Single().Body, Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That(stats.Received, Is.EqualTo(1));
            Assert.That(stats.Dropped, Is.EqualTo(6));
            Assert.That(receiver.GetDroppedCount(DatagramError.BadMagic), Is.EqualTo(1));
            Assert.That(receiver.GetDroppedCount(DatagramError.Truncated), Is.EqualTo(2));
            Assert.That(receiver.GetDroppedCount(DatagramError.BadVersion), Is.EqualTo(1));
            Assert.That(receiver.GetDroppedCount(DatagramError.UnknownType), Is.EqualTo(1));
            Assert.That(receiver.GetDroppedCount(DatagramError.TooLarge), Is.EqualTo(1));
        });

        // Rate-limited: the first bad datagram is logged, naming the sender and the fault; the rest are held back.
        var dropLines = logger.Lines.Where(l => l.Id.Id == 2101).Select(l => l.Message).ToList();
        var senderText = PeerEndpoint.FromIPEndPoint((IPEndPoint)raw.LocalEndPoint!).ToString();
        Assert.That(dropLines, Has.Count.InRange(1, 6));
        Assert.That(dropLines[0], Does.Contain(senderText).And.Contain("bad magic"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task LargestUdpDatagram_IsReceivedWholeWhenTheLimitAllowsIt(CancellationToken cancellationToken)
    {
        using var collector = new DatagramCollector();
        int max = DatagramHeader.MaxUdpPayload - DatagramHeader.Size;
        await using var sender = Create(maxPayload: max);
        await using var receiver = Create(maxPayload: max);
        sender.Bind();
        receiver.Start(collector);
        var body = new byte[max];
        new Random(3).NextBytes(body);

        Assert.That(sender.Send(receiver.LocalEndpoint, body), Is.EqualTo(SendStatus.Sent));

        Assert.That(await collector.WaitForCountAsync(1, WaitTimeout, cancellationToken), Is.True);
        Assert.That(collector.Datagrams.Single().Body, Is.EqualTo(body));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task HandlerThatThrows_DoesNotStopTheLoop(CancellationToken cancellationToken)
    {
        var logger = new CapturingLogger();
        using var collector = new DatagramCollector { ThrowWhen = body => body[0] == 0xBA };
        await using var sender = Create();
        await using var receiver = Create(logger);
        sender.Bind();
        receiver.Start(collector);

        sender.Send(receiver.LocalEndpoint, [0xBA, 0xD0]);
        sender.Send(receiver.LocalEndpoint, [0x60, 0x0D]);

        Assert.That(await collector.WaitForCountAsync(1, WaitTimeout, cancellationToken), Is.True, "the loop died with the handler");
        Assert.Multiple(() =>
        {
            Assert.That(collector.Datagrams.Single().Body, Is.EqualTo(new byte[] { 0x60, 0x0D }));
            Assert.That(receiver.Stats.HandlerErrors, Is.EqualTo(1));
            Assert.That(logger.Lines.Count(l => l.Id.Id == 2105), Is.EqualTo(1));
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Burst_OfTenThousandDatagrams_MostlyArrives(CancellationToken cancellationToken)
    {
        const int Total = 10_000;
        const int Window = 256;
        using var collector = new DatagramCollector();
        await using var sender = Create();
        await using var receiver = Create();
        sender.Bind();
        receiver.Start(collector);
        var body = new byte[200];

        int refused = 0;
        for (int i = 0; i < Total; i++)
        {
            if (i - collector.Count >= Window)
            {
                // Keep a bounded number in flight so the receiver's socket buffer is not what is being measured.
                await collector.WaitForCountAsync(i - (Window / 2), TimeSpan.FromMilliseconds(200), cancellationToken);
            }

            body[0] = (byte)i;
            if (sender.Send(receiver.LocalEndpoint, body) != SendStatus.Sent)
            {
                refused++;
            }
        }

        await collector.WaitForCountAsync(Total - refused, TimeSpan.FromSeconds(2), cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(collector.Count, Is.GreaterThan(Total * 9 / 10), $"received {collector.Count} of {Total} ({refused} refused by the socket)");
            Assert.That(receiver.Stats.Dropped, Is.Zero);
            Assert.That(receiver.Stats.Received, Is.EqualTo(collector.Count));
        });
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Bind_ToAPortInUse_Throws_AndAGivenFreePortIsHonoured(CancellationToken cancellationToken)
    {
        await using var first = Create();
        first.Bind();
        await using var second = Create();

        var error = Assert.Throws<SocketException>(() => second.Bind(first.LocalEndpoint));
        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));

        // Find a free port, release it, and bind to it explicitly (what the socket transport does for TCP + UDP on one port).
        ushort port;
        using (var probe = RawSender())
        {
            port = (ushort)((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        await using var third = Create();
        third.Bind(PeerEndpoint.Loopback(port));
        Assert.That(third.LocalEndpoint, Is.EqualTo(PeerEndpoint.Loopback(port)));
        cancellationToken.ThrowIfCancellationRequested();
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Send_ToAnIPv6PeerFromAnIPv4Socket_IsUnreachable_AndAfterDispose_IsClosed(CancellationToken cancellationToken)
    {
        var sender = Create();
        sender.Bind();

        var status = sender.Send(PeerEndpoint.Parse("[::1]:7051"), [1]);

        Assert.That(status, Is.EqualTo(SendStatus.Unreachable));
        Assert.That(sender.Stats.SendFailures, Is.EqualTo(1));
        await sender.DisposeAsync();
        Assert.That(sender.Send(PeerEndpoint.Loopback(7051), [1]), Is.EqualTo(SendStatus.Closed));
        cancellationToken.ThrowIfCancellationRequested();
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task DisposeAsync_EndsTheReceiveLoop(CancellationToken cancellationToken)
    {
        using var collector = new DatagramCollector();
        var receiver = Create();
        receiver.Start(collector);

        // Completes only if the pending receive is aborted and the loop returns.
        await receiver.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        await receiver.DisposeAsync(); // idempotent

        Assert.That(receiver.Send(PeerEndpoint.Loopback(7051), [1]), Is.EqualTo(SendStatus.Closed));
    }
}
