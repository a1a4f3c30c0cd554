using System.Text;

namespace Engine.Discovery;

/// <summary>
/// The organization carried in an alive message's <c>identity</c> field. Fabric puts a serialized identity there
/// (<c>msp.SerializedIdentity { string mspid = 1; bytes id_bytes = 2; }</c>); until Engine's security layer adds the
/// certificate, Engine sends the same message with the MSP id only, in every alive message, and reads the MSP id back.
/// Organization names are interned, so a known organization costs no allocation per message.
/// </summary>
internal sealed class OrgIdentity
{
    /// <summary>Distinct organization names kept; further ones are still read, but allocate each time.</summary>
    private const int MaxInterned = 256;

    private readonly Lock _gate = new();
    private volatile Entry[] _entries = [];

    /// <summary>The identity bytes that carry <paramref name="org"/>.</summary>
    public static byte[] Encode(string org)
    {
        var name = Encoding.UTF8.GetBytes(org);
        var identity = new byte[Protocol.ProtoSpanWriter.BytesFieldSize(1, name.Length)];
        var writer = new Protocol.ProtoSpanWriter(identity);
        writer.WriteBytesField(1, name);
        return identity;
    }

    /// <summary>The organization named by <paramref name="identity"/>; empty when there is none; false when malformed.</summary>
    public bool TryRead(ReadOnlySpan<byte> identity, out string org)
    {
        org = string.Empty;
        ReadOnlySpan<byte> name = default;
        var reader = new Protocol.ProtoSpanReader(identity);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out int field, out var wireType))
            {
                return false;
            }

            bool ok = (field, wireType) == (1, Protocol.WireType.LengthDelimited) ? reader.TryReadBytes(out name) : reader.TrySkip(wireType);
            if (!ok)
            {
                return false;
            }
        }

        if (name.IsEmpty)
        {
            return true;
        }

        org = Intern(name);
        return true;
    }

    /// <summary>The cached identity bytes of a known organization (allocates for an unknown one).</summary>
    public byte[] IdentityOf(string org)
    {
        foreach (var entry in _entries)
        {
            if (string.Equals(entry.Name, org, StringComparison.Ordinal))
            {
                return entry.Identity;
            }
        }

        Intern(Encoding.UTF8.GetBytes(org));
        foreach (var entry in _entries)
        {
            if (string.Equals(entry.Name, org, StringComparison.Ordinal))
            {
                return entry.Identity;
            }
        }

        return Encode(org);
    }

    private string Intern(ReadOnlySpan<byte> utf8)
    {
        var entries = _entries;
        foreach (var entry in entries)
        {
            if (utf8.SequenceEqual(entry.Utf8))
            {
                return entry.Name;
            }
        }

        return Add(utf8);
    }

    // Kept apart from the lookup: a lambda capturing the name would allocate its closure on every call of the method.
    private string Add(ReadOnlySpan<byte> utf8)
    {
        string name = Encoding.UTF8.GetString(utf8);
        lock (_gate)
        {
            var entries = _entries;
            if (entries.Length < MaxInterned && !entries.Any(e => e.Name == name))
            {
                _entries = [.. entries, new Entry(name, utf8.ToArray(), Encode(name))];
            }
        }

        return name;
    }

    private sealed record Entry(string Name, byte[] Utf8, byte[] Identity);
}
