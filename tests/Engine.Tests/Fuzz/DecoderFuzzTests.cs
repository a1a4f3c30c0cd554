using System.Buffers;
using Engine.Protocol;
using Engine.Security;
using Engine.Transport;
using Engine.Transport.Compression;
using Engine.Transport.Tcp;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using AliveCodecType = Engine.Protocol.AliveCodec;
using FrameHeaderType = Engine.Transport.FrameHeader;

namespace Engine.Tests.Fuzz;

/// <summary>
/// Every decoder that reads bytes from the network, fed <see cref="FuzzRunner.Inputs"/> random and mutated inputs
/// (seeded: a failure names the seed and the input). The span decoders must neither throw nor allocate; the
/// Google.Protobuf parsers may throw only InvalidProtocolBufferException and allocate within a bound; the frame reader
/// allocates only pooled buffers.
/// </summary>
[Category("Fuzz")]
public class DecoderFuzzTests
{
    private static readonly Type[] ProtobufExceptions = [typeof(InvalidProtocolBufferException)];

    [Test]
    public void DatagramHeaderAndEnvelopeBatch()
    {
        FuzzRunner.Run("datagram header + envelope batch", 1000, FuzzCorpus.Datagrams(1), static (input, scratch) =>
        {
            if (DatagramHeader.Validate(input, 1400, out _) == DatagramError.None)
            {
                var reader = new EnvelopeBatch.Reader(input[DatagramHeader.Size..]);
                while (reader.TryRead(out var envelope))
                {
                    _ = EnvelopeView.TryParse(envelope, out _);
                }
            }
        }, allocationLimit: 0, bufferSize: 2048, maxRandomLength: 1500);
    }

    [Test]
    public void FrameHeaderParse()
    {
        FuzzRunner.Run("frame header", 2000, FuzzCorpus.FrameStreams(2), static (input, scratch) =>
        {
            if (input.Length >= FrameHeaderType.Size)
            {
                FrameHeaderType.TryParse(input, 64 * 1024, out _);
            }
        }, allocationLimit: 0, maxRandomLength: 16);
    }

    [Test]
    public void FrameReaderWithLz4Bodies()
    {
        // A stream is read frame after frame, as a connection does, over one segment or split into several.
        const int MaxPayload = 64 * 1024;
        var report = FuzzRunner.Run("TCP frame reader (raw and LZ4)", 3000, FuzzCorpus.FrameStreams(3), static (input, scratch) =>
        {
            var sequence = (input.Length & 3) == 0 && input.Length > 2 ? scratch.Split(input) : scratch.Single(input);
            while (true)
            {
                var status = FrameReader.TryReadFrame(ref sequence, MaxPayload, out var frame, out _);
                if (status != FrameReadStatus.Complete)
                {
                    return;
                }

                if (frame.Type == FrameType.Handshake)
                {
                    Handshake.TryParse(frame.Payload, PeerEndpoint.Loopback(1), out _, out _);
                }

                frame.Release();
            }
        }, allocationLimit: 2 * MaxPayload, bufferSize: 8192, maxRandomLength: 256);

        // Decompression rents from the shared pool: it allocates while its buckets fill, then (nearly) never. Handshake
        // frames parse into a ConnEstablish (a few hundred bytes each).
        Assert.That(report.TotalAllocation / report.Inputs, Is.LessThan(1024));
    }

    [Test]
    public void Lz4Block()
    {
        FuzzRunner.Run("LZ4 block", 4000, FuzzCorpus.Lz4Blocks(4), static (input, scratch) =>
        {
            byte[] d = scratch.Buffer;
            int size = input.Length == 0 ? 0 : input[0] * 97 % d.Length;
            int n = Lz4Codec.Decompress(input, d.AsSpan(0, size));
            if (n > size)
            {
                throw new InvalidOperationException($"decompressed {n} bytes into {size}");
            }
        }, allocationLimit: 0, bufferSize: 4096, maxRandomLength: 512);
    }

    [Test]
    public void ProtoSpanReaderWalk()
    {
        FuzzRunner.Run("proto span reader", 5000, FuzzCorpus.Envelopes(5), static (input, scratch) => Walk(input, 0), allocationLimit: 0, maxRandomLength: 256);
    }

    [Test]
    public void EnvelopeViewAndSignedContent()
    {
        FuzzRunner.Run("EnvelopeView + signed content", 6000, FuzzCorpus.Envelopes(6), static (input, scratch) =>
        {
            if (EnvelopeView.TryParse(input, out var view))
            {
                SignedMessage.TryRead(view, out _);
                if (view.ContentField == EnvelopeView.AliveContent)
                {
                    _ = AliveCodecType.TryParse(view.Content, out _);
                }
            }
        }, allocationLimit: 0, maxRandomLength: 256);
    }

    [Test]
    public void AliveContent()
    {
        FuzzRunner.Run("AliveCodec", 7000, FuzzCorpus.AliveContents(7), static (input, scratch) =>
        {
            if (AliveCodecType.TryParse(input, out var alive) && alive.PkiId.Length == 32)
            {
                IdentityCodec.TryDecode(alive.Identity, out _, out _);
            }
        }, allocationLimit: 0, maxRandomLength: 256);
    }

    [Test]
    public void IdentityBytesAndIdentityPullItems()
    {
        using var ca = OrgCertificateAuthority.Create("Org1");
        using var peer = ca.IssuePeer("peer0.Org1");
        var pki = peer.PkiId.ToArray();
        var corpus = new List<byte[]> { peer.Identity, IdentityCodec.EncodeOrgOnly("Org1"), IdentityCodec.EncodeOrgOnly("SomeOtherOrg") };
        foreach (var identity in corpus.ToArray())
        {
            var item = new byte[IdentityPullSource.EnvelopeSize(identity.Length)];
            IdentityPullSource.Write(item, pki, identity);
            corpus.Add(item);
        }

        FuzzRunner.Run("identity bytes and identity pull items", 8500, [.. corpus], static (input, scratch) =>
        {
            IdentityCodec.TryReadOrg(input, out _);
            IdentityCodec.CarriesCertificate(input);
            IdentityCodec.TryDecode(input, out _, out _);
            if (IdentityPullSource.TryRead(input, out _, out var identity))
            {
                IdentityCodec.TryDecode(identity, out _, out _);
            }
        }, allocationLimit: 0, maxRandomLength: 1024, bufferSize: 2048);
    }

    [Test]
    public void TlsHandshakeBinding()
    {
        using var ca = OrgCertificateAuthority.Create("Org1");
        using var peer = ca.IssuePeer("peer0.Org1");
        var corpus = Enumerable.Range(0, 10).Select(i => new ConnEstablish
        {
            Endpoint = PeerEndpoint.Loopback((ushort)(i + 1)).ToString(),
            PkiId = ByteString.CopyFrom(peer.PkiId.ToArray()),
            Identity = ByteString.CopyFrom(peer.Identity),
        }.ToByteArray()).ToArray();
        var certificate = peer.Certificate;
        FuzzRunner.Run("ConnEstablish binding to the TLS certificate", 8700, corpus, (input, scratch) =>
        {
            Handshake.CheckBinding(scratch.Single(input), certificate);
        }, allocationLimit: 16 * 1024, maxRandomLength: 1024, bufferSize: 2048);
    }

    [Test]
    public void HandshakeBody()
    {
        var corpus = Enumerable.Range(0, 30).Select(i => Handshake.Create(PeerEndpoint.Loopback((ushort)(i * 1000 + 1))))
            .Concat(FuzzCorpus.Messages(ConnEstablish.Descriptor, 30, 8)).ToArray();
        FuzzRunner.Run("handshake (ConnEstablish)", 8000, corpus, static (input, scratch) =>
        {
            Handshake.TryParse(scratch.Single(input), PeerEndpoint.Loopback(1), out _, out _);
        }, allocationLimit: 16 * 1024, maxRandomLength: 128);
    }

    /// <summary>
    /// Messages that arrive from the network as a whole: the envelope, the GossipMessage inside it (whose oneof reaches
    /// every content message), and the handshake's ConnEstablish. The other types are only ever parsed nested in these.
    /// </summary>
    private static readonly string[] EntryTypes = ["Envelope", "GossipMessage", "ConnEstablish"];

    /// <summary>Inputs for each nested message type on its own (each is also reached through GossipMessage's 1,000,000).</summary>
    private const int NestedInputs = 50_000;

    private static IEnumerable<TestCaseData> MessageTypes() =>
        FuzzCorpus.MessageTypes.Select((d, i) => new TestCaseData(d.Name, 10_000 + (i * 100)).SetName($"Protobuf parser {d.Name}"));

    [TestCaseSource(nameof(MessageTypes))]
    public void ProtobufParser(string typeName, int seed)
    {
        var type = FuzzCorpus.MessageTypes.Single(d => d.Name == typeName);
        var corpus = typeName == "GossipMessage"
            ? FuzzCorpus.Envelopes(seed).Select(e => Envelope.Parser.ParseFrom(e).Payload.ToByteArray()).ToArray()
            : FuzzCorpus.Messages(type, 30, seed);
        var parser = type.Parser;

        // Parsing allocates the message and its fields (and an exception on bad input): bounded by a constant plus a
        // multiple of the input's length, never by what a length field claims.
        FuzzRunner.Run($"protobuf {typeName}", seed, corpus, (input, scratch) => parser.ParseFrom(input), allocationLimit: 16 * 1024, expected: ProtobufExceptions,
            inputs: EntryTypes.Contains(typeName) ? FuzzRunner.Inputs : NestedInputs, maxRandomLength: 128);
    }

    [Test]
    public void ANestedLengthOfTwoGiBIsAParseErrorNotAnIndexOutOfRange()
    {
        // Found by this fuzzer: Google.Protobuf 3.25.1 overflowed its limit arithmetic on a nested message claiming
        // 2^31-1 bytes and threw IndexOutOfRangeException (an undocumented exception, escaping Handshake.TryParse's
        // catch). 3.36.2 reports it as InvalidProtocolBufferException.
        byte[] input = Convert.FromHexString("0A20B737750215FF2AE9C88BC71FD4408079BD2F4E3D2230A0016CB4A0676D516CDA12146CF95F0B16171B4314B65F0F39526FB34F30AC9D1AFFFFFFFF879673");
        Assert.Throws<InvalidProtocolBufferException>(() => Envelope.Parser.ParseFrom(input));
        Assert.Throws<InvalidProtocolBufferException>(() => ConnEstablish.Parser.ParseFrom(new ReadOnlySequence<byte>(input)));
        Assert.That(Handshake.TryParse(new ReadOnlySequence<byte>(input), PeerEndpoint.Loopback(1), out _, out string? problem), Is.False);
        Assert.That(problem, Does.StartWith("not a ConnEstablish"));
    }

    private static void Walk(ReadOnlySpan<byte> input, int depth)
    {
        var reader = new ProtoSpanReader(input);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out _, out var wireType))
            {
                return;
            }

            if (wireType == WireType.LengthDelimited)
            {
                if (!reader.TryReadBytes(out var nested))
                {
                    return;
                }

                if (depth < 4)
                {
                    Walk(nested, depth + 1);
                }
            }
            else if (!reader.TrySkip(wireType))
            {
                return;
            }
        }
    }
}
