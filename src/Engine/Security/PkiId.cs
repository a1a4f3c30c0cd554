using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Engine.Security;

/// <summary>
/// A peer's PKI-ID, as in Fabric: SHA-256(org id ‖ certificate DER), 32 bytes. It names a peer on the wire (alive,
/// state info, leadership messages carry it) and binds that name to one certificate of one org.
/// </summary>
public readonly struct PkiId : IEquatable<PkiId>
{
    /// <summary>Length in bytes.</summary>
    public const int Length = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    private PkiId(ReadOnlySpan<byte> bytes)
    {
        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>True for the default (all-zero) value, which no real identity hashes to in practice.</summary>
    public bool IsEmpty => (_a | _b | _c | _d) == 0;

    /// <summary>Computes SHA-256(UTF-8 <paramref name="orgId"/> ‖ <paramref name="certificateDer"/>).</summary>
    public static PkiId Compute(string orgId, ReadOnlySpan<byte> certificateDer)
    {
        ArgumentNullException.ThrowIfNull(orgId);
        int orgLength = Encoding.UTF8.GetByteCount(orgId);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(orgLength + certificateDer.Length);
        try
        {
            Encoding.UTF8.GetBytes(orgId, buffer);
            certificateDer.CopyTo(buffer.AsSpan(orgLength));
            Span<byte> hash = stackalloc byte[Length];
            SHA256.HashData(buffer.AsSpan(0, orgLength + certificateDer.Length), hash);
            return new PkiId(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads a PKI-ID from the wire; false unless <paramref name="bytes"/> is exactly 32 bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out PkiId id)
    {
        if (bytes.Length != Length)
        {
            id = default;
            return false;
        }

        id = new PkiId(bytes);
        return true;
    }

    /// <summary>Writes the 32 bytes to <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    /// <summary>The 32 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>A 64-bit hash of the id (the id is already a SHA-256, so its first word is uniformly spread).</summary>
    internal ulong Hash64 => _a ^ _d;

    /// <inheritdoc/>
    public bool Equals(PkiId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PkiId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);

    /// <summary>The first 8 bytes in hex: enough to tell peers apart in a log line.</summary>
    public string ToShortString() => _a.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>All 32 bytes in lower-case hex.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(PkiId left, PkiId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PkiId left, PkiId right) => !left.Equals(right);
}
