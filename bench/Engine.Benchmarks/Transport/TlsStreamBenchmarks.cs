using System.Buffers;
using BenchmarkDotNet.Attributes;
using Engine.Security;
using Engine.Transport;
using Engine.Transport.Tcp;

namespace Engine.Benchmarks.Transport;

/// <summary>
/// The TCP loop of <see cref="TcpStreamBenchmarks"/> with mutual TLS (<see cref="TransportOptions.Security"/>): frames
/// over one loopback connection between two connection managers of two orgs, encrypted by SslStream; reported per frame.
/// Compare with TcpStreamBenchmarks.SendAndReceive for the cost of TLS (plain TCP, the default, is unchanged).
/// </summary>
[MemoryDiagnoser]
public class TlsStreamBenchmarks : IDisposable
{
    private const int FramesPerInvoke = 1000;

    private readonly FrameCountingHandler _receiver = new();
    private readonly FrameCountingHandler _sender = new();
    private OrgCertificateAuthority? _org1;
    private OrgCertificateAuthority? _org2;
    private PeerCredential? _peer1;
    private PeerCredential? _peer2;
    private TcpConnectionManager? _from;
    private TcpConnectionManager? _to;
    private byte[] _body = [];

    [Params(256, 4 * 1024, 64 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = new byte[Size];
        new Random(42).NextBytes(_body);
        _org1 = OrgCertificateAuthority.Create("Org1");
        _org2 = OrgCertificateAuthority.Create("Org2");
        _peer1 = _org1.IssuePeer("peer0.Org1");
        _peer2 = _org2.IssuePeer("peer0.Org2");
        var trust = new TrustStore();
        trust.Add("Org1", _org1.Certificate);
        trust.Add("Org2", _org2.Certificate);
        _from = new TcpConnectionManager(new TransportOptions { ListenEndpoint = PeerEndpoint.Loopback(0), Security = new TransportSecurity(_peer1, trust) });
        _to = new TcpConnectionManager(new TransportOptions { ListenEndpoint = PeerEndpoint.Loopback(0), Security = new TransportSecurity(_peer2, trust) });
        _from.StartAsync(_sender).AsTask().GetAwaiter().GetResult();
        _to.StartAsync(_receiver).AsTask().GetAwaiter().GetResult();
        SendAndReceive(); // connect, handshake and warm up
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _from?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _to?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _from = _to = null;
        _peer1?.Dispose();
        _peer2?.Dispose();
        _org1?.Dispose();
        _org2?.Dispose();
        _receiver.Dispose();
        _sender.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = FramesPerInvoke)]
    public void SendAndReceive()
    {
        var to = _to!.LocalEndpoint;
        _receiver.Expect(FramesPerInvoke);
        for (int i = 0; i < FramesPerInvoke; i++)
        {
            SendStatus status;
            while ((status = _from!.Send(to, _body)) == SendStatus.QueueFull)
            {
                Thread.Yield();
            }

            if (status != SendStatus.Sent)
            {
                throw new InvalidOperationException($"send failed: {status}");
            }
        }

        if (!_receiver.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException("frames did not arrive");
        }
    }
}
