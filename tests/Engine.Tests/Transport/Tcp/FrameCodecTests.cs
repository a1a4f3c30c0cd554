using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Engine.Transport;
using Engine.Transport.Compression;
using Engine.Transport.Tcp;
using NUnit.Framework;

namespace Engine.Tests.Transport.Tcp;

public class FrameCodecTests
{
    private const int MaxPayload = 16 * 1024 * 1024;
    private const int Threshold = 64;

    private static readonly byte[] Compressible = Encoding.ASCII.GetBytes(
        string.Concat(Enumerable.Repeat("block 42 of channel mychannel, org Org1MSP, peer0.org1.example.com:7051; ", 200)));

    private List<(FrameType Type, byte[] Body, bool Compressed)> _frames = null!;
    private byte[] _stream = null!;

    [OneTimeSetUp]
    public void BuildStream()
    {
        var random = new Random(1234);
        _frames = [];
        var writer = new ArrayBufferWriter<byte>();
        void Add(FrameType type, byte[] body)
        {
            FrameWriter.Write(writer, type, body, Threshold, out bool compressed);
            _frames.Add((type, body, compressed));
        }

        byte[] RandomBytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }

        Add(FrameType.Handshake, Encoding.ASCII.GetBytes("handshake"));
        Add(FrameType.Message, []);
        Add(FrameType.Keepalive, []);
        foreach (int size in new[] { 1, 7, 8, 63, 64, 65, 100, 300, 1000, 2000, 4096 })
        {
            Add(FrameType.Message, RandomBytes(size));
            Add(FrameType.Message, Compressible.AsSpan(0, size).ToArray());
        }

        Add(FrameType.Keepalive, []);
        Add(FrameType.Message, Compressible.AsSpan(0, 12).ToArray());
        _stream = writer.WrittenSpan.ToArray();
    }

    [Test]
    public void TheTestStreamMixesRawAndCompressedFrames()
    {
        Assert.That(_frames.Count(f => f.Compressed), Is.GreaterThanOrEqualTo(5));
        Assert.That(_frames.Count(f => !f.Compressed && f.Body.Length >= Threshold), Is.GreaterThanOrEqualTo(5), "random bodies stay raw");
    }

    [Test]
    public void StreamSplitAtEveryByteBoundaryParsesToTheSameFrames()
    {
        for (int at = 0; at <= _stream.Length; at++)
        {
            var parsed = ParseAll(Sequences.SplitAt(_stream, at), out long left);
            Assert.That(left, Is.Zero, $"split at {at}: bytes left over");
            AssertSameFrames(parsed, $"split at {at}");
        }
    }

    [Test]
    public void StreamWithEveryByteInItsOwnSegmentParsesToTheSameFrames()
    {
        var parsed = ParseAll(Sequences.ByteByByte(_stream), out long left);
        Assert.That(left, Is.Zero);
        AssertSameFrames(parsed, "byte by byte");
    }

    [Test]
    public void StreamArrivingOneByteAtATimeParsesToTheSameFrames()
    {
        // As a pipe delivers it: the parser sees what has arrived past what it consumed, and consumes whole frames only.
        var parsed = new List<(FrameType, byte[], bool)>();
        int consumed = 0;
        for (int arrived = 1; arrived <= _stream.Length; arrived++)
        {
            var buffer = new ReadOnlySequence<byte>(_stream, consumed, arrived - consumed);
            while (true)
            {
                var status = FrameReader.TryReadFrame(ref buffer, MaxPayload, out var frame, out var error);
                Assert.That(status, Is.Not.EqualTo(FrameReadStatus.Malformed), $"after {arrived} bytes: {error}");
                if (status == FrameReadStatus.Incomplete)
                {
                    break;
                }

                parsed.Add((frame.Type, frame.Payload.ToArray(), frame.Compressed));
                frame.Release();
            }

            consumed = arrived - (int)buffer.Length;
        }

        Assert.That(consumed, Is.EqualTo(_stream.Length));
        AssertSameFrames(parsed, "incremental");
    }

    [Test]
    public void TwoGiBLengthPrefixIsRejectedWithOnlyTheHeaderPresent()
    {
        byte[] header = [0x80, 0, 0, 0, FrameHeader.CurrentVersion, (byte)FrameType.Message, 0, 0];
        var buffer = new ReadOnlySequence<byte>(header);
        var status = FrameReader.TryReadFrame(ref buffer, MaxPayload, out _, out var error);
        Assert.That(status, Is.EqualTo(FrameReadStatus.Malformed));
        Assert.That(error, Is.EqualTo(FrameError.TooLarge));
        Assert.That(buffer.Length, Is.EqualTo(8), "nothing consumed");
        Assert.That(FrameReader.Describe(error, buffer, MaxPayload), Does.Contain("2147483648").And.Contain(MaxPayload.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void LengthOneAboveTheMaximumIsRejected()
    {
        Span<byte> header = stackalloc byte[8];
        new FrameHeader(1, FrameType.Message, FrameFlags.None).Write(header);
        BinaryPrimitives.WriteUInt32BigEndian(header, 1025);
        var buffer = new ReadOnlySequence<byte>(header.ToArray());
        Assert.That(FrameReader.TryReadFrame(ref buffer, 1024, out _, out var error), Is.EqualTo(FrameReadStatus.Malformed));
        Assert.That(error, Is.EqualTo(FrameError.TooLarge));

        BinaryPrimitives.WriteUInt32BigEndian(header, 1024);
        buffer = new ReadOnlySequence<byte>(header.ToArray());
        Assert.That(FrameReader.TryReadFrame(ref buffer, 1024, out _, out _), Is.EqualTo(FrameReadStatus.Incomplete), "exactly the maximum is fine");
    }

    [TestCase(new byte[] { 0, 0, 0, 4, 2, 2, 0, 0 }, FrameError.BadVersion, "version 2")]
    [TestCase(new byte[] { 0, 0, 0, 4, 0, 2, 0, 0 }, FrameError.BadVersion, "version 0")]
    [TestCase(new byte[] { 0, 0, 0, 4, 1, 9, 0, 0 }, FrameError.UnknownType, "type 9")]
    [TestCase(new byte[] { 0, 0, 0, 4, 1, 0, 0, 0 }, FrameError.UnknownType, "type 0")]
    [TestCase(new byte[] { 0, 0, 0, 4, 1, 2, 2, 0 }, FrameError.BadFlags, "0x02")]
    [TestCase(new byte[] { 0, 0, 0, 4, 1, 2, 0x81, 0 }, FrameError.BadFlags, "0x81")]
    [TestCase(new byte[] { 0, 0, 0, 4, 1, 2, 0, 1 }, FrameError.BadReserved, "0x01")]
    [TestCase(new byte[] { 0, 0, 0, 4, 1, 2, 1, 0 }, FrameError.BadCompressedLength, "too short")]
    public void BadHeaderIsRejectedBeforeItsBody(byte[] header, object expected, string described)
    {
        var buffer = new ReadOnlySequence<byte>(header);
        var status = FrameReader.TryReadFrame(ref buffer, MaxPayload, out _, out var error);
        Assert.That(status, Is.EqualTo(FrameReadStatus.Malformed));
        Assert.That(error, Is.EqualTo((FrameError)expected));
        Assert.That(FrameReader.Describe(error, buffer, MaxPayload), Does.Contain(described));
    }

    [Test]
    public void IncompleteHeaderWaitsForMoreBytes()
    {
        var buffer = new ReadOnlySequence<byte>([0x80, 0, 0, 0, 1, 2, 0]);
        Assert.That(FrameReader.TryReadFrame(ref buffer, MaxPayload, out _, out _), Is.EqualTo(FrameReadStatus.Incomplete));
        Assert.That(buffer.Length, Is.EqualTo(7));
    }

    [Test]
    public void Lz4BodyClaimingFourGiBIsRejectedWithoutAllocating()
    {
        byte[] frame = Lz4Frame(claim: uint.MaxValue, block: new byte[64]);
        _ = ParseOne(frame); // warm up code paths

        long before = GC.GetAllocatedBytesForCurrentThread();
        var buffer = new ReadOnlySequence<byte>(frame);
        var status = FrameReader.TryReadFrame(ref buffer, MaxPayload, out _, out var error);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(status, Is.EqualTo(FrameReadStatus.Malformed));
        Assert.That(error, Is.EqualTo(FrameError.UncompressedTooLarge));
        Assert.That(allocated, Is.LessThan(1024), "no buffer is allocated on the strength of the claim");
        Assert.That(FrameReader.Describe(error, buffer, MaxPayload), Does.Contain("4294967295"));
    }

    [Test]
    public void Lz4ClaimAboveTheMaximumIsRejectedAsSoonAsItsPrefixArrives()
    {
        byte[] frame = Lz4Frame(claim: MaxPayload + 1u, block: new byte[100_000]);
        var buffer = new ReadOnlySequence<byte>(frame, 0, FrameHeader.Size + FrameHeader.Lz4PrefixSize);
        Assert.That(FrameReader.TryReadFrame(ref buffer, MaxPayload, out _, out var error), Is.EqualTo(FrameReadStatus.Malformed));
        Assert.That(error, Is.EqualTo(FrameError.UncompressedTooLarge));

        buffer = new ReadOnlySequence<byte>(frame, 0, FrameHeader.Size + 3);
        Assert.That(FrameReader.TryReadFrame(ref buffer, MaxPayload, out _, out _), Is.EqualTo(FrameReadStatus.Incomplete), "prefix not complete yet");
    }

    [Test]
    public void Lz4ClaimBeyondWhatTheBlockCouldHoldIsRejected()
    {
        // 16 bytes of LZ4 cannot expand to 1 MiB (at most ~255x), however well-formed they look.
        byte[] frame = Lz4Frame(claim: 1 << 20, block: new byte[16]);
        Assert.That(ParseOne(frame), Is.EqualTo(FrameError.BadCompressedData));
    }

    [Test]
    public void MalformedLz4BlockIsRejected()
    {
        var garbage = new byte[40];
        new Random(5).NextBytes(garbage);
        garbage[0] = 0xFF; // a token promising long literal and match runs the block does not have
        Assert.That(ParseOne(Lz4Frame(claim: 1000, block: garbage)), Is.EqualTo(FrameError.BadCompressedData));
    }

    [TestCase(1)]
    [TestCase(-1)]
    public void Lz4BlockDecompressingToOtherThanItsClaimIsRejected(int delta)
    {
        byte[] body = Compressible.AsSpan(0, 1000).ToArray();
        var block = new byte[Lz4Codec.MaxCompressedLength(body.Length)];
        int packed = Lz4Codec.Compress(body, block);
        byte[] frame = Lz4Frame(claim: (uint)(body.Length + delta), block: block.AsSpan(0, packed).ToArray());
        Assert.That(ParseOne(frame), Is.EqualTo(FrameError.BadCompressedData));

        frame = Lz4Frame(claim: (uint)body.Length, block: block.AsSpan(0, packed).ToArray());
        Assert.That(ParseOne(frame), Is.EqualTo(FrameError.None), "the exact claim decodes");
    }

    [Test]
    public void WriterCompressesOnlyFromTheThresholdAndOnlyWhenItHelps()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.Write(writer, FrameType.Message, Compressible.AsSpan(0, 4095), 4096, out bool below);
        FrameWriter.Write(writer, FrameType.Message, Compressible.AsSpan(0, 4096), 4096, out bool at);
        FrameWriter.Write(writer, FrameType.Message, Compressible.AsSpan(0, 8000), 0, out bool off);
        var random = new byte[8000];
        new Random(9).NextBytes(random);
        int randomLength = FrameWriter.Write(writer, FrameType.Message, random, 4096, out bool incompressible);

        Assert.That((below, at, off, incompressible), Is.EqualTo((false, true, false, false)));
        Assert.That(randomLength, Is.EqualTo(FrameHeader.Size + random.Length));
    }

    [Test]
    public async Task LargeFramesRoundTripThroughAPipeAcrossManySegments()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 4096, useSynchronizationContext: false));
        var random = new byte[1 << 20];
        new Random(11).NextBytes(random);
        byte[] text = new byte[1 << 20];
        for (int i = 0; i < text.Length; i += Compressible.Length)
        {
            Compressible.AsSpan(0, Math.Min(Compressible.Length, text.Length - i)).CopyTo(text.AsSpan(i));
        }

        FrameWriter.Write(pipe.Writer, FrameType.Message, random, 4096, out bool randomCompressed);
        FrameWriter.Write(pipe.Writer, FrameType.Message, text, 4096, out bool textCompressed);
        await pipe.Writer.FlushAsync();
        Assert.That(pipe.Reader.TryRead(out var result));

        var buffer = result.Buffer;
        Assert.That(buffer.IsSingleSegment, Is.False);
        var received = new List<(byte[], bool)>();
        while (FrameReader.TryReadFrame(ref buffer, MaxPayload, out var frame, out var error) == FrameReadStatus.Complete)
        {
            Assert.That(error, Is.EqualTo(FrameError.None));
            received.Add((frame.Payload.ToArray(), frame.Compressed));
            frame.Release();
        }

        pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        Assert.That(buffer.IsEmpty);
        Assert.That(received, Has.Count.EqualTo(2));
        Assert.That(received[0].Item1, Is.EqualTo(random));
        Assert.That(received[1].Item1, Is.EqualTo(text));
        Assert.That((randomCompressed, received[0].Item2, textCompressed, received[1].Item2), Is.EqualTo((false, false, true, true)));
    }

    private static byte[] Lz4Frame(uint claim, byte[] block)
    {
        var frame = new byte[FrameHeader.Size + FrameHeader.Lz4PrefixSize + block.Length];
        new FrameHeader(FrameHeader.Lz4PrefixSize + block.Length, FrameType.Message, FrameFlags.Lz4).Write(frame);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(FrameHeader.Size), claim);
        block.CopyTo(frame, FrameHeader.Size + FrameHeader.Lz4PrefixSize);
        return frame;
    }

    private static FrameError ParseOne(byte[] frame)
    {
        var buffer = new ReadOnlySequence<byte>(frame);
        var status = FrameReader.TryReadFrame(ref buffer, MaxPayload, out var parsed, out var error);
        if (status == FrameReadStatus.Complete)
        {
            parsed.Release();
            Assert.That(buffer.IsEmpty);
        }

        Assert.That(status, Is.Not.EqualTo(FrameReadStatus.Incomplete));
        return error;
    }

    private static List<(FrameType, byte[], bool)> ParseAll(ReadOnlySequence<byte> buffer, out long left)
    {
        var parsed = new List<(FrameType, byte[], bool)>();
        while (true)
        {
            var status = FrameReader.TryReadFrame(ref buffer, MaxPayload, out var frame, out var error);
            Assert.That(status, Is.Not.EqualTo(FrameReadStatus.Malformed), error.ToString());
            if (status == FrameReadStatus.Incomplete)
            {
                break;
            }

            parsed.Add((frame.Type, frame.Payload.ToArray(), frame.Compressed));
            frame.Release();
        }

        left = buffer.Length;
        return parsed;
    }

    private void AssertSameFrames(List<(FrameType Type, byte[] Body, bool Compressed)> parsed, string what)
    {
        Assert.That(parsed, Has.Count.EqualTo(_frames.Count), what);
        for (int i = 0; i < parsed.Count; i++)
        {
            if (parsed[i].Type != _frames[i].Type || parsed[i].Compressed != _frames[i].Compressed || !parsed[i].Body.AsSpan().SequenceEqual(_frames[i].Body))
            {
                Assert.Fail($"{what}: frame {i} differs");
            }
        }
    }
}
