using System.Runtime.InteropServices;

namespace Engine.Transport.Compression;

/// <summary>
/// Span-based LZ4 block compression over the system's liblz4. Inputs are never trusted: decompression is bounded by the
/// destination span and malformed blocks are reported as -1.
/// </summary>
internal static unsafe class Lz4Codec
{
    /// <summary>LZ4 cannot compress inputs larger than this (LZ4_MAX_INPUT_SIZE).</summary>
    public const int MaxInputSize = 0x7E00_0000;

    private static int _version;

    /// <summary>The liblz4 version number (major*10000 + minor*100 + release); loads the library on first use.</summary>
    public static int Version
    {
        get
        {
            EnsureAvailable();
            return _version;
        }
    }

    /// <summary>Loads liblz4 and throws a clear <see cref="InvalidOperationException"/> when it is not installed.</summary>
    public static void EnsureAvailable()
    {
        if (Volatile.Read(ref _version) != 0)
        {
            return;
        }

        try
        {
            Volatile.Write(ref _version, Lz4Native.VersionNumber());
        }
        catch (DllNotFoundException e)
        {
            ThrowMissing(e);
        }
        catch (EntryPointNotFoundException e)
        {
            ThrowMissing(e);
        }
    }

    /// <summary>The largest size <paramref name="inputLength"/> bytes can compress to (0 if LZ4 cannot take that much).</summary>
    public static int MaxCompressedLength(int inputLength) => Lz4Native.CompressBound(inputLength);

    /// <summary>Compresses <paramref name="source"/> into <paramref name="destination"/>; returns the compressed length, or 0 if it does not fit.</summary>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.IsEmpty || source.Length > MaxInputSize)
        {
            return 0;
        }

        // An empty span pins to null; liblz4 wants a valid pointer even for zero bytes.
        byte empty = 0;
        fixed (byte* src = &MemoryMarshal.GetReference(source))
        fixed (byte* dst = &MemoryMarshal.GetReference(destination))
        {
            return Lz4Native.CompressDefault(source.IsEmpty ? &empty : src, dst, source.Length, destination.Length);
        }
    }

    /// <summary>
    /// Decompresses the block in <paramref name="source"/> into <paramref name="destination"/>; returns the decompressed
    /// length, or -1 if the block is malformed or does not fit.
    /// </summary>
    public static int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.IsEmpty)
        {
            return -1;
        }

        byte empty = 0;
        fixed (byte* src = &MemoryMarshal.GetReference(source))
        fixed (byte* dst = &MemoryMarshal.GetReference(destination))
        {
            int result = Lz4Native.DecompressSafe(src, destination.IsEmpty ? &empty : dst, source.Length, destination.Length);
            return result < 0 ? -1 : result;
        }
    }

    private static void ThrowMissing(Exception inner) =>
        throw new InvalidOperationException(
            $"{Lz4Native.LibraryName} not found: install the Debian package liblz4-1 (apt-get install -y liblz4-1)", inner);
}
