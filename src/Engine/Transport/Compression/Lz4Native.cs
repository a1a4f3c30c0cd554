using System.Runtime.InteropServices;

namespace Engine.Transport.Compression;

/// <summary>
/// Source-generated bindings to the reference LZ4 library (liblz4.so.1, Debian package liblz4-1). Block format only.
/// </summary>
internal static unsafe partial class Lz4Native
{
    public const string LibraryName = "liblz4.so.1";

    /// <summary>The library version as major*10000 + minor*100 + release.</summary>
    [LibraryImport(LibraryName, EntryPoint = "LZ4_versionNumber")]
    public static partial int VersionNumber();

    /// <summary>The largest compressed size of <paramref name="inputSize"/> bytes, or 0 if the input is too large for LZ4.</summary>
    [LibraryImport(LibraryName, EntryPoint = "LZ4_compressBound")]
    public static partial int CompressBound(int inputSize);

    /// <summary>Compresses a block; returns the compressed size, or 0 if it does not fit in <paramref name="dstCapacity"/>.</summary>
    [LibraryImport(LibraryName, EntryPoint = "LZ4_compress_default")]
    public static partial int CompressDefault(byte* src, byte* dst, int srcSize, int dstCapacity);

    /// <summary>
    /// Decompresses a block; returns the decompressed size, or a negative number if the input is malformed or would
    /// overflow <paramref name="dstCapacity"/>. Never reads or writes outside the given buffers, whatever the input.
    /// </summary>
    [LibraryImport(LibraryName, EntryPoint = "LZ4_decompress_safe")]
    public static partial int DecompressSafe(byte* src, byte* dst, int compressedSize, int dstCapacity);
}
