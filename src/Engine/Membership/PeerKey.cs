using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Membership;

/// <summary>
/// Hashing of PKI-IDs. A seeded 64-bit hash in the style of xxHash64 (a few multiply-rotate rounds per 8 bytes): the
/// seed is drawn per table from its random source, so bucket positions cannot be predicted from outside. Never zero.
/// </summary>
internal static class PeerKey
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong Prime3 = 0x165667B19E3779F9UL;
    private const ulong Prime4 = 0x85EBCA77C2B2AE63UL;
    private const ulong Prime5 = 0x27D4EB2F165667C5UL;

    public static ulong Hash(ReadOnlySpan<byte> key, ulong seed)
    {
        ref byte start = ref MemoryMarshal.GetReference(key);
        int length = key.Length;
        ulong h = seed + Prime5 + (ulong)length;
        int i = 0;
        for (; i + 8 <= length; i += 8)
        {
            ulong k = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            k = BitOperations.RotateLeft(k * Prime2, 31) * Prime1;
            h = (BitOperations.RotateLeft(h ^ k, 27) * Prime1) + Prime4;
        }

        if (i < length)
        {
            ulong tail = 0;
            for (int shift = 0; i < length; i++, shift += 8)
            {
                tail |= (ulong)Unsafe.Add(ref start, i) << shift;
            }

            h = BitOperations.RotateLeft(h ^ (tail * Prime5), 23) * Prime2 + Prime3;
        }

        h ^= h >> 33;
        h *= Prime2;
        h ^= h >> 29;
        h *= Prime3;
        h ^= h >> 32;
        return h == 0 ? 1 : h;
    }
}
