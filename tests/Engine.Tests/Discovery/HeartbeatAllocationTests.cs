using System.Buffers;
using Engine.Discovery;
using Engine.Membership;
using Engine.Node;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Tests.Discovery;

/// <summary>The heartbeat receive path allocates nothing once warm (the benchmark's contract, checked on every test run).</summary>
public sealed class HeartbeatAllocationTests
{
    private sealed class CountingTransport : ITransport
    {
        public long Datagrams;

        public PeerEndpoint LocalEndpoint => PeerEndpoint.FromIPv4(0x0A00_0001, 7051);

        public int MaxDatagramPayload => 1400;

        public int MaxFramePayload => 1 << 20;

        public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload)
        {
            Datagrams++;
            return SendStatus.Sent;
        }

        public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload) => SendStatus.Sent;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Test]
    public void ReceivingDecodingRecordingAndForwardingHeartbeats_AllocatesNothingOnceWarm()
    {
        const int members = 500;
        // Manual time: no timer fires on another thread mid-measurement, so what is measured is exactly the receive path
        // (decode, record, forward, and the inline flush at the burst size). With the system clock, the emitter's 10 ms
        // flush timer raced the inline path now and then under a loaded test run (280 B in one run of 20,000 heartbeats).
        var time = new Engine.Tests.Transport.ManualTimeProvider();
        var random = new Random(3);
        var table = new MembershipTable(new MembershipOptions(), time, random);
        var pkiIds = new byte[members][];
        var endpoints = new byte[members][];
        for (int i = 0; i < members; i++)
        {
            pkiIds[i] = new byte[32];
            random.NextBytes(pkiIds[i]);
            var endpoint = PeerEndpoint.FromIPv4(0x0B00_0000u + (uint)i, 7051);
            endpoints[i] = EndpointText.ToUtf8(endpoint);
            var announcement = new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, endpoint, default, "Org1");
            table.Update(pkiIds[i], in announcement, time.GetTimestamp(), out _);
        }

        var transport = new CountingTransport();
        var settings = new DiscoverySettings { OrgId = "Org1", PkiId = new byte[32], Endpoint = transport.LocalEndpoint };
        using var discovery = new DiscoveryService(settings, transport, table, time, NullLogger.Instance);
        var router = new MessageRouter(time);
        router.Attach(discovery);
        var identity = OrgIdentity.Encode("Org1");
        var datagram = new byte[1400];
        var sender = PeerEndpoint.FromIPv4(0x0A00_0002, 7051);
        ulong seq = 1;

        void Round()
        {
            seq++;
            int written = 0;
            Span<byte> envelope = stackalloc byte[256];
            for (int i = 0; i < 10; i++)
            {
                int member = (int)((seq * 10 + (ulong)i) % members);
                var fields = new AliveFields { PkiId = pkiIds[member], Endpoint = endpoints[member], IncNum = 1, SeqNum = seq, Identity = identity };
                EnvelopeBatch.TryAppend(datagram, ref written, envelope[..AliveCodec.Write(envelope, fields, default)]);
            }

            router.OnDatagram(sender, datagram.AsSpan(0, written));
        }

        for (int i = 0; i < 2000; i++)
        {
            Round();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 2000; i++)
        {
            Round();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Multiple(() =>
        {
            Assert.That(allocated, Is.Zero, "bytes allocated for 20,000 heartbeats");
            Assert.That(discovery.Counters.AliveForwarded, Is.EqualTo(4000L * 10 * 3), "every heartbeat was news and went to 3 peers");
            Assert.That(transport.Datagrams, Is.GreaterThan(0));
        });
    }
}
