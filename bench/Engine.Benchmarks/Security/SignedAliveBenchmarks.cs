using BenchmarkDotNet.Attributes;
using Engine.Protocol;
using Engine.Security;
using Engine.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Benchmarks.Security;

/// <summary>
/// A signed node's per-heartbeat work (<see cref="NodeSecurity"/>): sealing its own alive envelope with the certificate
/// (during publishCertPeriod) or the org alone, and accepting a received one — the signature check through the cache
/// plus the check that the alive message names its signer's org — for a copy already verified.
/// </summary>
[MemoryDiagnoser]
public class SignedAliveBenchmarks : IDisposable
{
    private static readonly PeerEndpoint Source = PeerEndpoint.Loopback(7051);
    private readonly byte[] _buffer = new byte[2048];
    private OrgCertificateAuthority _ca = null!;
    private PeerCredential _self = null!;
    private PeerCredential _other = null!;
    private NodeSecurity _security = null!;
    private NodeSecurity _sender = null!;
    private byte[] _received = null!;
    private byte[] _endpoint = null!;
    private byte[] _selfPki = null!;
    private ulong _seq;

    [GlobalSetup]
    public void Setup()
    {
        _ca = OrgCertificateAuthority.Create("Org1");
        _self = _ca.IssuePeer("peer0.Org1");
        _other = _ca.IssuePeer("peer1.Org1");
        var trust = new TrustStore();
        trust.Add("Org1", _ca.Certificate);
        _security = new NodeSecurity(_self, trust, TimeProvider.System, TimeSpan.FromHours(1), 1000, NullLogger.Instance);
        _sender = new NodeSecurity(_other, trust, TimeProvider.System, TimeSpan.FromHours(1), 1000, NullLogger.Instance);
        _endpoint = "127.0.0.1:7051"u8.ToArray();
        _selfPki = _self.PkiId.ToArray();
        var otherPki = _other.PkiId.ToArray();
        var fields = new AliveFields { PkiId = otherPki, Endpoint = _endpoint, IncNum = 1, SeqNum = 1, Identity = _sender.AliveIdentity() };
        _received = _buffer[.._sender.SealAlive(fields, _buffer)];
        if (!_security.AcceptAlive(_received, Source) || !_security.AcceptAlive(_received, Source) || _security.Verifier.Counters.Cached != 1)
        {
            throw new InvalidOperationException("setup: the received alive is not accepted from the cache");
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _security.Dispose();
        _sender.Dispose();
        _self.Dispose();
        _other.Dispose();
        _ca.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>This node's next heartbeat, signed, with the certificate (publishCertPeriod).</summary>
    [Benchmark]
    public int SealOwnAlive()
    {
        var fields = new AliveFields { PkiId = _selfPki, Endpoint = _endpoint, IncNum = 1, SeqNum = ++_seq, Identity = _security.AliveIdentity() };
        return _security.SealAlive(fields, _buffer);
    }

    /// <summary>A received heartbeat copy already verified: cache hit plus the org check.</summary>
    [Benchmark]
    public bool AcceptVerifiedCopy() => _security.AcceptAlive(_received, Source);
}
