using System.Text;
using Engine.Transport.Compression;
using NUnit.Framework;

namespace Engine.Tests.Transport.Compression;

public class Lz4CodecTests
{
    [Test]
    public void TheSystemLibraryIsLoaded()
    {
        Assert.DoesNotThrow(Lz4Codec.EnsureAvailable);
        Assert.That(Lz4Codec.Version, Is.GreaterThanOrEqualTo(10_900), "liblz4 1.9 or later");
    }

    [Test]
    public void CompressibleDataRoundTripsAndShrinks()
    {
        byte[] source = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("DataUpdate nonce=17 digest=0xdeadbeef; ", 500)));
        var packed = new byte[Lz4Codec.MaxCompressedLength(source.Length)];
        int length = Lz4Codec.Compress(source, packed);
        Assert.That(length, Is.GreaterThan(0).And.LessThan(source.Length / 10));

        var restored = new byte[source.Length];
        Assert.That(Lz4Codec.Decompress(packed.AsSpan(0, length), restored), Is.EqualTo(source.Length));
        Assert.That(restored, Is.EqualTo(source));
    }

    [Test]
    public void RandomDataRoundTripsWithinTheBound()
    {
        var source = new byte[100_000];
        new Random(3).NextBytes(source);
        int bound = Lz4Codec.MaxCompressedLength(source.Length);
        Assert.That(bound, Is.GreaterThanOrEqualTo(source.Length));

        var packed = new byte[bound];
        int length = Lz4Codec.Compress(source, packed);
        Assert.That(length, Is.GreaterThan(0).And.LessThanOrEqualTo(bound));

        var restored = new byte[source.Length];
        Assert.That(Lz4Codec.Decompress(packed.AsSpan(0, length), restored), Is.EqualTo(source.Length));
        Assert.That(restored, Is.EqualTo(source));
    }

    [Test]
    public void CompressReturnsZeroWhenTheDestinationIsTooSmall()
    {
        var source = new byte[10_000];
        new Random(4).NextBytes(source);
        Assert.That(Lz4Codec.Compress(source, new byte[5_000]), Is.Zero);
        Assert.That(Lz4Codec.Compress(source, []), Is.Zero);
    }

    [Test]
    public void EmptyInputCompressesAndDecompressesToNothing()
    {
        var packed = new byte[Lz4Codec.MaxCompressedLength(0)];
        int length = Lz4Codec.Compress([], packed);
        Assert.That(length, Is.GreaterThan(0));
        Assert.That(Lz4Codec.Decompress(packed.AsSpan(0, length), []), Is.Zero);
    }

    [Test]
    public void DecompressRejectsMalformedTruncatedAndOversizedInput()
    {
        byte[] source = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("abcdefgh", 1000)));
        var packed = new byte[Lz4Codec.MaxCompressedLength(source.Length)];
        int length = Lz4Codec.Compress(source, packed);

        Assert.That(Lz4Codec.Decompress(packed.AsSpan(0, length), new byte[source.Length - 1]), Is.EqualTo(-1), "does not fit");
        Assert.That(Lz4Codec.Decompress(packed.AsSpan(0, length / 2), new byte[source.Length]), Is.EqualTo(-1), "truncated");
        Assert.That(Lz4Codec.Decompress([], new byte[16]), Is.EqualTo(-1), "empty");

        var garbage = new byte[256];
        var random = new Random(6);
        int rejected = 0;
        for (int i = 0; i < 200; i++)
        {
            random.NextBytes(garbage);
            int result = Lz4Codec.Decompress(garbage, new byte[1024]);
            Assert.That(result, Is.GreaterThanOrEqualTo(-1).And.LessThanOrEqualTo(1024));
            rejected += result == -1 ? 1 : 0;
        }

        Assert.That(rejected, Is.GreaterThan(150), "random bytes are almost never a valid block");
    }
}
