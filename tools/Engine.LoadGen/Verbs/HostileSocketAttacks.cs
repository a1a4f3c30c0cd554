using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using Engine.Node;
using Engine.Protocol;
using Engine.Security;
using Engine.Transport;
using Engine.Transport.Tcp;
using Google.Protobuf;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// The connection attacks, on real sockets on loopback: the same 10 peers with mutual TLS on every TCP connection and
/// signed messages, and an attacker dialling peer 0: certificates of an untrusted CA, of an unknown org, expired ones, a
/// handshake claiming another PKI-ID, plain TCP; then, as an insider with a valid certificate, a 2 GiB length prefix, an
/// LZ4 body claiming 4 GiB, a frame of an unknown type, a slow drip that never finishes a frame; 64 KiB datagrams; and a
/// flood of connections beyond peer 0's inbound cap. A connection attack is refused when peer 0 closes the connection
/// and counts it (unauthenticated, malformed, refused at the cap) or, for the slow drip, closes it within the frame read
/// timeout; a datagram when the peer drops and counts it.
/// </summary>
internal sealed class HostileSocketAttacks : IAsyncDisposable
{
    /// <summary>Peer 0's inbound connection cap in this run (the other 9 peers hold one each).</summary>
    public const int InboundCap = 32;

    private static readonly TimeSpan FrameReadTimeout = TimeSpan.FromSeconds(1);

    private readonly HostileMaterial _material;
    private readonly List<GossipNode> _nodes = [];
    private readonly List<SocketTransport> _transports = [];
    private Engine.Ordering.Orderer? _orderer;

    public HostileSocketAttacks(HostileMaterial material) => _material = material;

    public IReadOnlyList<GossipNode> Nodes => _nodes;

    private PeerEndpoint Target => _nodes[0].Endpoint;

    public async Task<bool> StartAsync(CancellationToken cancellationToken)
    {
        var trust = _material.Trust(TimeProvider.System);
        var endpoints = _material.Members.Select(_ => PeerEndpoint.Loopback(LoopbackPorts.Free())).ToArray();
        var ordererEndpoint = PeerEndpoint.Loopback(LoopbackPorts.Free());
        _orderer = new Engine.Ordering.Orderer(SocketTransport.Create(new TransportOptions
        {
            ListenEndpoint = ordererEndpoint,
            UdpReceiveThread = false,
            Security = new TransportSecurity(_material.Orderer, trust),
        }),
            new Engine.Ordering.OrdererOptions());
        await _orderer.StartAsync(cancellationToken);
        var channels = new HostileChannels(_orderer, ordererEndpoint, endpoints, [.. _material.Members.Select(m => m.OrgId)]);
        for (int i = 0; i < _material.Members.Count; i++)
        {
            var credential = _material.Members[i];
            var options = new GossipOptions
            {
                OrgId = credential.OrgId,
                Credential = credential,
                TrustStore = trust,
                AliveTimeInterval = TimeSpan.FromSeconds(1),
                // Generous: on a loaded machine (a parallel test run on 2 cores) a 5 s expiry let an honest peer be
                // declared dead during the flood, a view change that was the machine's, not the attack's.
                AliveExpirationTimeout = TimeSpan.FromSeconds(20),
                ReconnectInterval = TimeSpan.FromSeconds(20),
                BootstrapRetryInterval = TimeSpan.FromSeconds(1),
                PullInterval = TimeSpan.FromSeconds(2),
            };
            options.Transport.ListenEndpoint = endpoints[i];
            options.Transport.UdpReceiveThread = false;
            options.Transport.FrameReadTimeout = FrameReadTimeout;
            options.Transport.MaxInboundConnections = i == 0 ? InboundCap : 64;
            options.Transport.Security = new TransportSecurity(credential, trust);
            options.Endpoint = endpoints[i];
            channels.Configure(options, i);

            var transport = SocketTransport.Create(options.Transport);
            var node = new GossipNode(options, transport);
            await node.StartAsync(cancellationToken);
            _transports.Add(transport);
            _nodes.Add(node);
        }

        for (int i = 0; i < _nodes.Count; i++)
        {
            channels.Join(_nodes[i], i);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (_nodes.Any(n => n.AliveCount != _nodes.Count - 1))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(100, cancellationToken);
        }

        await Task.Delay(1000, cancellationToken);
        return true;
    }

    public async Task<List<AttackResult>> RunAsync(int rounds, CancellationToken cancellationToken)
    {
        var m = _material;
        var results = new List<AttackResult>
        {
            await TlsAttack("tls_untrusted_ca", "TLS with a certificate of a rogue CA that claims to be Org1", rounds, m.RogueCa, null, cancellationToken),
            await TlsAttack("tls_unknown_org", "TLS with a certificate of an org no peer trusts (Org3)", rounds, m.UnknownOrg, null, cancellationToken),
            await TlsAttack("tls_expired", "TLS with an expired certificate of Org1's own CA", rounds, m.Expired, null, cancellationToken),
            await TlsAttack("tls_pki_id_mismatch", "valid TLS, then a ConnEstablish claiming an honest peer's PKI-ID", rounds, m.Insider,
                Handshake(m.Members[1].PkiId.ToArray(), m.Members[1].Identity), cancellationToken),
            await Counted("plain_tcp", "plain TCP (no TLS) to a peer that requires mutual TLS", rounds, s => s.ConnectionsUnauthenticated, async ct =>
            {
                using var socket = await ConnectAsync(ct);
                await socket.SendAsync(Frame(FrameType.Handshake, Engine.Transport.Tcp.Handshake.Create(PeerEndpoint.Loopback(9)).AsSpan()), ct);
                await WaitForCloseAsync(socket, ct);
            }, cancellationToken),
            await InsiderFrame("length_prefix_2gib", "an authenticated insider sends a frame header announcing a 2 GiB body", rounds,
                [0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 0, 0], cancellationToken),
            await InsiderFrame("lz4_claims_4gib", "an authenticated insider sends an LZ4 frame whose body claims 4 GiB uncompressed", rounds,
                Lz4Bomb(), cancellationToken),
            await InsiderFrame("unknown_frame_type", "an authenticated insider sends a frame of type 9", rounds,
                [0, 0, 0, 1, 1, 9, 0, 0, 7], cancellationToken),
            await SlowDrip(rounds, cancellationToken),
            await Datagrams64KiB(rounds, cancellationToken),
            await Flood(cancellationToken),
        };
        return results;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StopAsync();
        }

        if (_orderer is not null)
        {
            await _orderer.DisposeAsync();
        }
    }

    private TcpStats TargetTcp => _transports[0].GetStats().Tcp;

    private static byte[] Handshake(byte[] pkiId, byte[] identity) => new ConnEstablish
    {
        Endpoint = PeerEndpoint.Loopback(9).ToString(),
        PkiId = ByteString.CopyFrom(pkiId),
        Identity = ByteString.CopyFrom(identity),
    }.ToByteArray();

    private static byte[] Frame(FrameType type, ReadOnlySpan<byte> body)
    {
        var frame = new byte[FrameHeader.Size + body.Length];
        new FrameHeader(body.Length, type, FrameFlags.None).Write(frame);
        body.CopyTo(frame.AsSpan(FrameHeader.Size));
        return frame;
    }

    private static byte[] Lz4Bomb()
    {
        var frame = new byte[FrameHeader.Size + 4];
        BinaryPrimitives.WriteUInt32BigEndian(frame, 1_000_000); // body announced, never sent
        frame[4] = 1;
        frame[5] = 2;
        frame[6] = 1; // LZ4
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), uint.MaxValue);
        return frame;
    }

    private async Task<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(Target.ToIPEndPoint(), cancellationToken);
        return socket;
    }

    /// <summary>A TLS client with <paramref name="credential"/>; null when the handshake itself failed (the peer refused).</summary>
    private static async Task<SslStream?> TlsAsync(Socket socket, PeerCredential credential, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = "engine-peer",
                    ClientCertificateContext = SslStreamCertificateContext.Create(credential.Certificate, null, offline: true),
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null, // the attacker does not care who answers
                },
                cancellationToken);
            return ssl;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            await ssl.DisposeAsync();
            return null;
        }
    }

    private Task<AttackResult> TlsAttack(string name, string how, int rounds, PeerCredential credential, byte[]? handshake, CancellationToken cancellationToken) =>
        Counted(name, how, rounds, s => s.ConnectionsUnauthenticated, async ct =>
        {
            using var socket = await ConnectAsync(ct);
            await using var ssl = await TlsAsync(socket, credential, ct);
            if (ssl is null)
            {
                return;
            }

            try
            {
                await ssl.WriteAsync(Frame(FrameType.Handshake, handshake ?? Handshake(credential.PkiId.ToArray(), credential.Identity)), ct);
                await ssl.WriteAsync(Frame(FrameType.Message, HostileMessages.Leadership(credential, 1)), ct);
                await WaitForCloseAsync(ssl, ct);
            }
            catch (IOException)
            {
            }
        }, cancellationToken);

    private Task<AttackResult> InsiderFrame(string name, string how, int rounds, byte[] frame, CancellationToken cancellationToken) =>
        Counted(name, how, rounds, s => s.MalformedFrames, async ct =>
        {
            var insider = _material.Insider;
            using var socket = await ConnectAsync(ct);
            await using var ssl = await TlsAsync(socket, insider, ct) ?? throw new InvalidOperationException("the insider's certificate was refused");
            try
            {
                await ssl.WriteAsync(Frame(FrameType.Handshake, Handshake(insider.PkiId.ToArray(), insider.Identity)), ct);
                await ssl.WriteAsync(frame, ct);
                await WaitForCloseAsync(ssl, ct);
            }
            catch (IOException)
            {
            }
        }, cancellationToken);

    /// <summary>Runs one connection attack <paramref name="rounds"/> times against peer 0 and counts what its TCP counter says.</summary>
    private async Task<AttackResult> Counted(string name, string how, int rounds, Func<TcpStats, long> counter, Func<CancellationToken, Task> attempt, CancellationToken cancellationToken)
    {
        string before = ViewSnapshot.Of(_nodes, withTime: false);
        long counted = counter(TargetTcp);
        for (int i = 0; i < rounds; i++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await attempt(timeout.Token);
        }

        await Settle(() => counter(TargetTcp) - counted >= rounds, cancellationToken);
        return new AttackResult(name, "sockets", rounds, counter(TargetTcp) - counted, ViewSnapshot.Of(_nodes, withTime: false) != before, how);
    }

    private async Task<AttackResult> SlowDrip(int rounds, CancellationToken cancellationToken)
    {
        string before = ViewSnapshot.Of(_nodes, withTime: false);
        var insider = _material.Insider;
        int closed = 0;
        for (int i = 0; i < rounds; i++)
        {
            using var socket = await ConnectAsync(cancellationToken);
            await using var ssl = await TlsAsync(socket, insider, cancellationToken) ?? throw new InvalidOperationException("the insider's certificate was refused");
            await ssl.WriteAsync(Frame(FrameType.Handshake, Handshake(insider.PkiId.ToArray(), insider.Identity)), cancellationToken);
            var started = DateTime.UtcNow;
            byte[] header = [0, 0, 0x10, 0, 1, 2, 0, 0]; // a 4 KiB frame, one byte every 200 ms, never finished
            try
            {
                for (int b = 0; DateTime.UtcNow - started < FrameReadTimeout * 6; b = (b + 1) % header.Length)
                {
                    await ssl.WriteAsync(header.AsMemory(b, 1), cancellationToken);
                    await Task.Delay(200, cancellationToken);
                }
            }
            catch (IOException)
            {
                closed += DateTime.UtcNow - started < FrameReadTimeout * 6 ? 1 : 0;
            }
        }

        return new AttackResult("slow_drip", "sockets", rounds, closed, ViewSnapshot.Of(_nodes, withTime: false) != before,
            $"an authenticated insider starts a frame and drips one byte every 200 ms; closed by the frame read timeout ({FrameReadTimeout.TotalSeconds:0} s)");
    }

    private async Task<AttackResult> Datagrams64KiB(int rounds, CancellationToken cancellationToken)
    {
        string before = ViewSnapshot.Of(_nodes, withTime: false);
        long dropped = _transports.Sum(t => t.GetStats().Udp.Dropped);
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var datagram = new byte[DatagramHeader.MaxUdpPayload];
        new Random(7).NextBytes(datagram);
        datagram[0] = DatagramHeader.Magic0;
        datagram[1] = DatagramHeader.Magic1;
        long sent = 0;
        for (int i = 0; i < rounds; i++)
        {
            foreach (var node in _nodes)
            {
                sent += await udp.SendToAsync(datagram, SocketFlags.None, node.Endpoint.ToIPEndPoint(), cancellationToken) > 0 ? 1 : 0;
            }
        }

        await Settle(() => _transports.Sum(t => t.GetStats().Udp.Dropped) - dropped >= sent, cancellationToken);
        return new AttackResult("datagram_64kib", "sockets", sent, _transports.Sum(t => t.GetStats().Udp.Dropped) - dropped,
            ViewSnapshot.Of(_nodes, withTime: false) != before, $"UDP datagrams of {DatagramHeader.MaxUdpPayload:N0} bytes (the datagram limit is 1,400) to every peer");
    }

    private async Task<AttackResult> Flood(CancellationToken cancellationToken)
    {
        string before = ViewSnapshot.Of(_nodes, withTime: false);
        long refused = TargetTcp.ConnectionsRefused;
        const int Connections = InboundCap * 3;
        int beyondCap = Connections - (InboundCap - TargetTcp.InboundConnections); // the honest peers hold some of the slots
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                try
                {
                    sockets.Add(await ConnectAsync(cancellationToken));
                }
                catch (SocketException)
                {
                }
            }

            // Held open (they never finish TLS) while the honest peers keep talking through their existing connections.
            await Settle(() => TargetTcp.ConnectionsRefused - refused >= beyondCap, cancellationToken);
            await Task.Delay(2000, cancellationToken);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        bool changed = ViewSnapshot.Of(_nodes, withTime: false) != before || _nodes.Any(n => n.AliveCount != _nodes.Count - 1);
        return new AttackResult("connection_flood", "sockets", beyondCap, TargetTcp.ConnectionsRefused - refused, changed,
            $"{Connections} connections opened to peer 0 and held, against its cap of {InboundCap} inbound connections: attempts are those beyond the cap");
    }

    private static async Task WaitForCloseAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }

    private static async Task WaitForCloseAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) > 0)
            {
            }
        }
        catch (SocketException)
        {
        }
    }

    private static async Task Settle(Func<bool> done, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, cancellationToken);
        }
    }
}
