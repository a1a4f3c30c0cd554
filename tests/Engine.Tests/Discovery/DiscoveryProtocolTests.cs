using System.Buffers;
using Engine.Discovery;
using Engine.Membership;
using Engine.Node;
using Engine.Protocol;
using Engine.Tests.Transport;
using Engine.Transport;
using Engine.Transport.Memory;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Tests.Discovery;

/// <summary>One node against hand-made peers (raw in-memory transports): what it accepts, drops, forwards and answers.</summary>
public sealed class DiscoveryProtocolTests
{
    private static readonly PeerEndpoint Injector = PeerEndpoint.FromIPv4(0x0A00_0064, 7051);   // 10.0.0.100
    private static readonly PeerEndpoint Observer = PeerEndpoint.FromIPv4(0x0A00_0065, 7051);   // 10.0.0.101
    private static readonly byte[] OrgIdentityBytes = OrgIdentity.Encode("Org1");

    private sealed class Recorder : ITransportHandler
    {
        public List<(PeerEndpoint From, byte[] Body)> Datagrams { get; } = [];

        public List<(PeerEndpoint From, byte[] Body)> Frames { get; } = [];

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => Datagrams.Add((source, payload.ToArray()));

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload) => Frames.Add((source, payload.ToArray()));

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }
    }

    private sealed class Rig
    {
        public Rig(Action<GossipOptions>? configure = null, TransportOptions? transport = null)
        {
            H = new DiscoveryHarness(1, configure: configure);
            if (transport is not null)
            {
                var options = H.OptionsFor(0);
                Node = new GossipNode(options, H.Network.CreateTransport(DiscoveryHarness.EndpointOf(0), transport), new GossipNodeContext { Time = H.Time, Seed = 1, LoggerFactory = H.Logs });
                Node.StartAsync().AsTask().GetAwaiter().GetResult();
            }
            else
            {
                Node = H.Start(0);
            }

            InjectorTransport = H.Network.CreateTransport(Injector);
            InjectorTransport.StartAsync(InjectorLog).AsTask().GetAwaiter().GetResult();
            ObserverTransport = H.Network.CreateTransport(Observer);
            ObserverTransport.StartAsync(ObserverLog).AsTask().GetAwaiter().GetResult();
        }

        public DiscoveryHarness H { get; }

        public GossipNode Node { get; }

        public MemoryTransport InjectorTransport { get; }

        public MemoryTransport ObserverTransport { get; }

        public Recorder InjectorLog { get; } = new();

        public Recorder ObserverLog { get; } = new();

        public static PeerEndpoint NodeEndpoint => DiscoveryHarness.EndpointOf(0);

        public void Send(MemoryTransport from, params byte[][] envelopes)
        {
            var body = new byte[from.MaxDatagramPayload];
            int written = 0;
            foreach (var envelope in envelopes)
            {
                Assert.That(EnvelopeBatch.TryAppend(body, ref written, envelope), Is.True);
            }

            Assert.That(from.SendDatagram(NodeEndpoint, body.AsSpan(0, written)), Is.EqualTo(SendStatus.Sent));
            H.Run(TimeSpan.FromMilliseconds(50));
        }

        public PeerSummary? Find(byte[] pkiId) =>
            Node.GetMembership().Alive.Concat(Node.GetMembership().Dead).SingleOrDefault(p => p.PkiId == Convert.ToHexStringLower(pkiId));
    }

    private static byte[] Pki(int n) => Enumerable.Repeat((byte)n, 32).ToArray();

    /// <summary>An alive envelope; with <paramref name="internalEndpoint"/>, a secret envelope carrying it (the member has an external endpoint).</summary>
    private static byte[] Alive(byte[] pkiId, PeerEndpoint endpoint, ulong inc, ulong seq, string? endpointText = null, string? internalEndpoint = null)
    {
        var fields = new AliveFields
        {
            PkiId = pkiId,
            Endpoint = System.Text.Encoding.UTF8.GetBytes(endpointText ?? endpoint.ToString()),
            IncNum = inc,
            SeqNum = seq,
            Identity = OrgIdentityBytes,
            InternalEndpoint = internalEndpoint is null ? default : System.Text.Encoding.UTF8.GetBytes(internalEndpoint),
        };
        var envelope = new byte[AliveCodec.EnvelopeSize(fields, 0)];
        AliveCodec.Write(envelope, fields, default);
        return envelope;
    }

    [Test]
    public void AnOrgMatesHeartbeat_BackThroughAnotherOrgWithoutItsSecret_RefreshesIt_AndKeepsItsInternalEndpoint()
    {
        var rig = new Rig();
        var mate = Pki(8);
        rig.Send(rig.InjectorTransport, Alive(mate, Injector, 60, 1, endpointText: "10.9.9.9:7051", internalEndpoint: Injector.ToString()));
        Assert.That(rig.Find(mate)!.Endpoint, Is.EqualTo(Injector), "an org mate is reached at its internal endpoint");

        // The copy another org forwards back has no secret: only the external endpoint is in it.
        rig.Send(rig.InjectorTransport, Alive(mate, Injector, 60, 2, endpointText: "10.9.9.9:7051"));
        var member = rig.Node.Membership!.Find(mate);
        Assert.Multiple(() =>
        {
            Assert.That(rig.Find(mate)!.Time, Is.EqualTo(new PeerTime(60, 2)), "the copy is news: the member is refreshed");
            Assert.That(member!.Endpoint, Is.EqualTo(Injector), "still reached at its internal endpoint");
            Assert.That(member.ExternalEndpoint, Is.EqualTo(PeerEndpoint.Parse("10.9.9.9:7051")));
        });
    }

    private static ulong SeqOf(byte[] envelope)
    {
        bool ok = EnvelopeView.TryParse(envelope, out var view) & AliveCodec.TryParse(view.Content, out var fields);
        Assert.That(ok, Is.True);
        return fields.SeqNum;
    }

    [Test]
    public void StaleHeartbeat_NeverOverwritesNewerNews_AndIsNotForwarded()
    {
        var rig = new Rig();
        var fake = Pki(7);
        rig.Send(rig.ObserverTransport, Alive(Pki(9), Observer, 100, 1)); // the observer is known alive: a forwarding target
        rig.ObserverLog.Datagrams.Clear();

        rig.Send(rig.InjectorTransport, Alive(fake, Injector, 50, 10));
        rig.Send(rig.InjectorTransport, Alive(fake, Injector, 50, 5));   // older seq
        rig.Send(rig.InjectorTransport, Alive(fake, Injector, 49, 99));  // older incarnation
        rig.Send(rig.InjectorTransport, Alive(fake, Injector, 50, 10));  // duplicate
        rig.Send(rig.InjectorTransport, Alive(fake, Injector, 50, 11));

        var forwarded = rig.ObserverLog.Datagrams.SelectMany(d => RecordingTransport.Records(d.Body)).Where(e => SeqOf(e) is 5 or 10 or 11 or 99).Select(SeqOf).ToList();
        var stats = rig.Node.GetStatistics();
        Assert.Multiple(() =>
        {
            Assert.That(rig.Find(fake)!.Time, Is.EqualTo(new PeerTime(50, 11)));
            Assert.That(stats.AliveStale, Is.EqualTo(3));
            Assert.That(forwarded, Is.EqualTo(new ulong[] { 10, 11 }), "only news is forwarded");
            Assert.That(rig.InjectorLog.Datagrams.SelectMany(d => RecordingTransport.Records(d.Body)).Any(e => SeqOf(e) is 10 or 11), Is.False, "never back to the sender");
        });
    }

    [Test]
    public void SeveralAliveMessagesInOneDatagram_AreAllRecorded_AndForwardedPackedIntoOneDatagram()
    {
        // A fanout larger than the network and a burst larger than the traffic: every eligible peer gets every forward,
        // and the emitter's latency tick is what flushes.
        var rig = new Rig(o =>
        {
            o.PropagatePeerNum = 10;
            o.MaxPropagationBurstSize = 100;
        });
        rig.Send(rig.ObserverTransport, Alive(Pki(9), Observer, 100, 1));
        rig.ObserverLog.Datagrams.Clear();

        var envelopes = Enumerable.Range(20, 5).Select(n => Alive(Pki(n), PeerEndpoint.FromIPv4(0x0A00_1000u + (uint)n, 7051), 1, 1)).ToArray();
        rig.Send(rig.InjectorTransport, envelopes);

        var fromNode = rig.ObserverLog.Datagrams.Where(d => d.From == Rig.NodeEndpoint).Select(d => RecordingTransport.Records(d.Body)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rig.Node.GetMembership().Alive, Has.Count.EqualTo(6));
            // The k-th new peer goes to the observer and the k-1 fake peers learned before it (not to itself, not to the sender).
            Assert.That(rig.Node.GetStatistics().AliveForwarded, Is.EqualTo(1 + 2 + 3 + 4 + 5));
            Assert.That(fromNode, Has.Count.EqualTo(1), "the five forwards to the observer share one datagram");
            Assert.That(fromNode[0].Count(r => SeqOf(r) == 1), Is.EqualTo(5));
        });
    }

    [Test]
    public void BadDatagrams_AreCountedAndLoggedWithTheSender_AndChangeNothing()
    {
        var rig = new Rig();
        Assert.That(rig.InjectorTransport.SendDatagram(Rig.NodeEndpoint, [0x05, 0x01]), Is.EqualTo(SendStatus.Sent)); // record runs past the end
        Assert.That(rig.InjectorTransport.SendDatagram(Rig.NodeEndpoint, [0x02, 0xFF, 0xFF]), Is.EqualTo(SendStatus.Sent)); // not an envelope
        rig.Send(rig.InjectorTransport, Alive(Pki(3), Injector, 1, 1, endpointText: "not-an-endpoint"));
        rig.Send(rig.InjectorTransport, Alive([], Injector, 1, 1));
        rig.H.Run(TimeSpan.FromSeconds(1));

        var lines = rig.H.Logs.Messages(3008).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rig.Node.GetStatistics().DecodeErrors, Is.EqualTo(4));
            Assert.That(rig.Node.GetMembership().Alive, Is.Empty);
            Assert.That(lines, Is.Not.Empty);
            Assert.That(lines.All(l => l.Contains("from 10.0.0.100:7051", StringComparison.Ordinal)), Is.True, string.Join("\n", lines));
            Assert.That(lines.Count, Is.LessThan(4), "rate-limited");
        });

        rig.Send(rig.InjectorTransport, Alive(Pki(3), Injector, 1, 1));
        Assert.That(rig.Find(Pki(3)), Is.Not.Null, "the node carries on");
    }

    [Test]
    public void ReprobeOfAPeerThatHoldsOnlyDeadMembers_CarriesTheirFilterAndADigest()
    {
        // The node holds two members, both dead. Its known filter holds them (a responder that holds them dead at the same
        // time leaves them out: the node would ignore them), so its re-probe requests carry the filter and a digest, and a
        // responder whose view differs walks it with that filter.
        var rig = new Rig();
        string org = rig.H.OptionsFor(0).OrgId;
        foreach (var (pki, endpoint) in new[] { (Pki(7), Observer), (Pki(8), PeerEndpoint.FromIPv4(0x0A00_0066, 7051)) })
        {
            var news = new MemberAnnouncement(new PeerTime(1, 1), MemberState.Dead, endpoint, org: org);
            rig.Node.Membership!.Update(pki, in news, rig.H.Time.GetTimestamp(), out _);
        }

        rig.H.Run(TimeSpan.FromSeconds(30)); // one reconnect interval (25 s)
        var requests = rig.ObserverLog.Frames.Where(f => EnvelopeView.TryParse(f.Body, out var v) && v.ContentField == EnvelopeView.MembershipRequestContent).ToList();
        Assert.That(requests, Is.Not.Empty, "the dead member was re-probed");
        foreach (var (_, body) in requests)
        {
            Assert.That(EnvelopeView.TryParse(body, out var view), Is.True);
            Assert.That(MembershipMessages.TryParseRequest(view.Content, out _, out var filterSpan, out ulong digest), Is.True);
            byte[] filter = filterSpan.ToArray();
            Assert.Multiple(() =>
            {
                Assert.That(KnownFilter.IsValid(filter), Is.True);
                Assert.That(KnownFilter.MayContain(filter, Pki(8), new PeerTime(1, 1)), Is.True, "a dead member at its time is held");
                Assert.That(KnownFilter.MayContain(filter, Pki(8), new PeerTime(1, 2)), Is.False, "a newer time is news");
                Assert.That(digest, Is.Not.Zero, "with a filter goes the digest");
            });
        }
    }

    [Test]
    public void MembershipResponse_LargerThanAFrame_IsSplit_AndCarriesEveryMember()
    {
        var rig = new Rig(transport: new TransportOptions { MaxFramePayload = 1024 });
        var envelopes = Enumerable.Range(20, 40).Select(n => Alive(Pki(n), PeerEndpoint.FromIPv4(0x0A00_1000u + (uint)n, 7051), 1, 1)).ToList();
        for (int i = 0; i < envelopes.Count; i += 10)
        {
            rig.Send(rig.InjectorTransport, [.. envelopes.Skip(i).Take(10)]);
        }

        var self = Alive(Pki(99), Observer, 1, 1);
        var request = new byte[MembershipMessages.RequestSize(self.Length)];
        MembershipMessages.WriteRequest(request, self);
        Assert.That(rig.ObserverTransport.SendFrame(Rig.NodeEndpoint, request), Is.EqualTo(SendStatus.Sent));
        rig.H.Run(TimeSpan.FromMilliseconds(100));

        var pkiIds = new HashSet<string>();
        foreach (var (from, body) in rig.ObserverLog.Frames)
        {
            Assert.That(body.Length, Is.LessThanOrEqualTo(1024));
            bool parsed = EnvelopeView.TryParse(body, out var view);
            Assert.That(parsed && view.ContentField == EnvelopeView.MembershipResponseContent, Is.True);
            var reader = new MembershipMessages.ResponseReader(view.Content);
            while (reader.TryRead(out var envelope, out _))
            {
                bool ok = EnvelopeView.TryParse(envelope, out var entry) & AliveCodec.TryParse(entry.Content, out var fields);
                Assert.That(ok, Is.True);
                pkiIds.Add(Convert.ToHexStringLower(fields.PkiId));
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(rig.ObserverLog.Frames, Has.Count.GreaterThan(1), "split over several frames");
            Assert.That(pkiIds, Has.Count.EqualTo(41), "the responder and the 40 injected members");
            Assert.That(pkiIds, Does.Contain(Convert.ToHexStringLower(rig.Node.PkiId.Span)));
            Assert.That(pkiIds, Does.Not.Contain(Convert.ToHexStringLower(Pki(99))), "never the asker itself: it records nothing about itself");
            Assert.That(rig.Find(Pki(99)), Is.Not.Null, "the asker was learned from its self-information");
        });
    }

    [Test]
    public void BadOptionValues_AreClearErrorsNamingTheKey()
    {
        var network = new MemoryNetwork(NetworkPolicy.Perfect(), new VirtualTimeProvider());
        void Expect(string key, Action<GossipOptions> change)
        {
            var options = new GossipOptions();
            change(options);
            var e = Assert.Throws<ArgumentException>(() => _ = new GossipNode(options, network.CreateTransport()));
            Assert.That(e!.ParamName, Is.EqualTo(key), e.Message);
            Assert.That(e.Message, Does.Contain(key));
        }

        Expect(nameof(GossipOptions.AliveTimeInterval), o => o.AliveTimeInterval = TimeSpan.Zero);
        Expect(nameof(GossipOptions.AliveExpirationTimeout), o => o.AliveExpirationTimeout = TimeSpan.FromSeconds(1));
        Expect(nameof(GossipOptions.PropagatePeerNum), o => o.PropagatePeerNum = 0);
        Expect(nameof(GossipOptions.ReconnectInterval), o => o.ReconnectInterval = TimeSpan.FromSeconds(-1));
        Expect(nameof(GossipOptions.MaxConnectionAttempts), o => o.MaxConnectionAttempts = 0);
        Expect(nameof(GossipOptions.PkiId), o => o.PkiId = []);
        Expect(nameof(GossipOptions.BootstrapRetryInterval), o => o.BootstrapRetryInterval = TimeSpan.Zero);
        Expect(nameof(GossipOptions.MaxMembers), o => o.MaxMembers = 0);
        Expect("BootstrapPeers[0]", o => o.BootstrapPeers.Add(default));
        Expect(nameof(GossipOptions.OrgId), o => o.OrgId = " ");

        // A datagram too small for this peer's alive message is refused at start, saying which limit to raise.
        var tiny = new GossipNode(new GossipOptions { PkiId = new byte[64] }, network.CreateTransport(new TransportOptions { MaxDatagramPayload = 64 }));
        var start = Assert.ThrowsAsync<ArgumentException>(async () => await tiny.StartAsync());
        Assert.That(start!.Message, Does.Contain("MaxDatagramPayload"));
        Assert.That(tiny.IsRunning, Is.False);
    }
}
