using System.Net.Security;
using Engine.Protocol;
using Engine.Security;
using Engine.Tests.Transport.Udp;
using Engine.Transport;
using Engine.Transport.Tcp;
using Google.Protobuf;
using NUnit.Framework;

namespace Engine.Tests.Transport.Tcp;

/// <summary>
/// Mutual TLS on the stream transport: peers of trusted orgs exchange frames; a certificate of an untrusted CA, an
/// expired one, or a handshake whose PKI-ID is not the TLS certificate's closes the connection, counted, with a log line
/// naming the remote address and the reason.
/// </summary>
[Category("Sockets")]
public sealed class TcpTlsTests : IDisposable
{
    private readonly OrgCertificateAuthority _org1 = OrgCertificateAuthority.Create("Org1", new FixedTime(DateTimeOffset.UtcNow.AddDays(-30)));
    private readonly OrgCertificateAuthority _org2 = OrgCertificateAuthority.Create("Org2");
    private readonly OrgCertificateAuthority _rogue = OrgCertificateAuthority.Create("Org1"); // claims Org1, is not its CA
    private readonly TrustStore _trust = new();

    public TcpTlsTests()
    {
        _trust.Add("Org1", _org1.Certificate);
        _trust.Add("Org2", _org2.Certificate);
    }

    public void Dispose()
    {
        _org1.Dispose();
        _org2.Dispose();
        _rogue.Dispose();
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task PeersOfTrustedOrgsHandshakeAndExchangeFramesBothWays(CancellationToken cancellationToken)
    {
        using var a = _org1.IssuePeer("peer0.Org1");
        using var b = _org2.IssuePeer("peer0.Org2");
        var (server, serverHandler, serverLog) = await StartAsync(b);
        var (client, clientHandler, _) = await StartAsync(a);
        await using (server)
        await using (client)
        {
            serverHandler.OnFrameReceived = (source, body) => server.Send(source, body);
            byte[] body = TcpTestKit.StampedBody(1, 0, 20_000, compressible: true); // LZ4 inside TLS too
            Assert.That(client.Send(server.LocalEndpoint, body), Is.EqualTo(SendStatus.Sent));
            await clientHandler.WaitUntilAsync(h => h.FrameCount == 1, cancellationToken);
            Assert.That(clientHandler.Frames.Single().Payload, Is.EqualTo(body));
            Assert.That(serverHandler.Frames.Single().Source, Is.EqualTo(client.LocalEndpoint));
            Assert.That(server.TryGetConnection(client.LocalEndpoint, out var connection), Is.True);
            Assert.That(connection!.RemoteCertificate!.Subject, Does.Contain("peer0.Org1"));
            Assert.That(server.GetStats().ConnectionsUnauthenticated + client.GetStats().ConnectionsUnauthenticated, Is.Zero);
            Assert.That(serverLog.Lines.Any(l => l.Id.Id == 2109), Is.False);
        }
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task CertificateOfAnUntrustedCaIsRefusedWithTheRemoteAddressAndReason(CancellationToken cancellationToken)
    {
        using var good = _org1.IssuePeer("peer0.Org1");
        using var rogue = _rogue.IssuePeer("peer9.Org1");
        await AssertRefusedAsync(good, rogue, "Untrusted", cancellationToken);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task ExpiredCertificateIsRefusedWithTheRemoteAddressAndReason(CancellationToken cancellationToken)
    {
        using var good = _org1.IssuePeer("peer0.Org1");
        using var expired = _org1.IssuePeer("peer5.Org1", new FixedTime(DateTimeOffset.UtcNow.AddDays(-10)), TimeSpan.FromDays(1));
        await AssertRefusedAsync(good, expired, "Expired", cancellationToken);
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task HandshakeClaimingAnotherPkiIdThanTheTlsCertificateIsRefused(CancellationToken cancellationToken)
    {
        using var good = _org1.IssuePeer("peer0.Org1");
        using var attacker = _org1.IssuePeer("peer6.Org1"); // trusted, but claims to be 'good'
        var (server, handler, log) = await StartAsync(good);
        await using (server)
        {
            using var socket = await TcpTestKit.ConnectRawAsync(server.LocalEndpoint, cancellationToken);
            await using var ssl = new SslStream(new System.Net.Sockets.NetworkStream(socket), leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = "engine-peer",
                    ClientCertificateContext = SslStreamCertificateContext.Create(attacker.Certificate, null, offline: true),
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.Subject.Contains("peer0.Org1", StringComparison.Ordinal),
                },
                cancellationToken);
            var claimed = new ConnEstablish
            {
                Endpoint = PeerEndpoint.Loopback(40_123).ToString(),
                PkiId = ByteString.CopyFrom(good.PkiId.ToArray()),
                Identity = ByteString.CopyFrom(good.Identity),
            };
            await ssl.WriteAsync(TcpTestKit.Frame(FrameType.Handshake, claimed.ToByteArray()), cancellationToken);
            await ssl.WriteAsync(TcpTestKit.Frame(FrameType.Message, [1, 2, 3]), cancellationToken);
            await WaitForCloseAsync(ssl, cancellationToken);
            await TcpTestKit.EventuallyAsync(() => log.Lines.Any(l => l.Id.Id == 2109), cancellationToken);
            Assert.That(server.GetStats().ConnectionsUnauthenticated, Is.EqualTo(1));
            Assert.That(handler.FrameCount, Is.Zero, "nothing is delivered from an unbound connection");
            AssertLogged(log, socket.LocalEndPoint!.ToString()!, "PKI-ID mismatch");
        }
    }

    /// <summary>A peer without TLS material cannot talk to one that requires mutual TLS: refused and counted.</summary>
    [Test]
    [CancelAfter(20_000)]
    public async Task PlainTcpIsRefusedByATlsListener(CancellationToken cancellationToken)
    {
        using var good = _org1.IssuePeer("peer0.Org1");
        var (server, handler, _) = await StartAsync(good);
        var (plain, _) = await TcpTestKit.StartAsync();
        await using (server)
        await using (plain)
        {
            plain.Send(server.LocalEndpoint, [1, 2, 3]);
            await TcpTestKit.EventuallyAsync(() => server.GetStats().ConnectionsUnauthenticated >= 1, cancellationToken);
            Assert.That(handler.FrameCount, Is.Zero);
        }
    }

    private async Task AssertRefusedAsync(PeerCredential serverCredential, PeerCredential clientCredential, string reason, CancellationToken cancellationToken)
    {
        var (server, serverHandler, serverLog) = await StartAsync(serverCredential);
        var (client, _, _) = await StartAsync(clientCredential);
        await using (server)
        await using (client)
        {
            client.Send(server.LocalEndpoint, [1, 2, 3]);
            await TcpTestKit.EventuallyAsync(() => serverLog.Lines.Any(l => l.Id.Id == 2109), cancellationToken);
            Assert.That(server.GetStats().ConnectionsUnauthenticated, Is.GreaterThanOrEqualTo(1));
            Assert.That(serverHandler.FrameCount, Is.Zero, "nothing is delivered from a refused peer");
            Assert.That(server.TryGetConnection(client.LocalEndpoint, out _), Is.False);
            AssertLogged(serverLog, "127.0.0.1:", reason);
        }
    }

    private static void AssertLogged(CapturingLogger log, string remote, string reason)
    {
        var lines = log.Lines.Where(l => l.Id.Id == 2109).Select(l => l.Message).ToList();
        Assert.That(lines, Has.Some.Contains(remote).And.Contains(reason), string.Join("\n", lines));
    }

    private static async Task WaitForCloseAsync(SslStream ssl, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (await ssl.ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }

    private async Task<(TcpConnectionManager Manager, RecordingHandler Handler, CapturingLogger Log)> StartAsync(PeerCredential credential)
    {
        var log = new CapturingLogger();
        var manager = new TcpConnectionManager(TcpTestKit.Options(o => o.Security = new TransportSecurity(credential, _trust)), log);
        var handler = new RecordingHandler();
        await manager.StartAsync(handler);
        return (manager, handler, log);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
