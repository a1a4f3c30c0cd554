using System.Text;
using Engine.Protocol;

namespace Engine.Security;

/// <summary>
/// The identity bytes a peer presents (AliveMessage.identity, PeerIdentity.cert, ConnEstablish.identity): Fabric's
/// <c>SerializedIdentity { string mspid = 1; bytes id_bytes = 2; }</c>, with the certificate as DER in id_bytes.
/// </summary>
internal static class IdentityCodec
{
    /// <summary>Identities larger than this are refused before parsing (a P-256 certificate is well under 1 KiB).</summary>
    public const int MaxLength = 8192;

    /// <summary>Longest org id accepted (it names a directory too).</summary>
    public const int MaxOrgIdLength = 64;

    public static byte[] Encode(string orgId, ReadOnlySpan<byte> certificateDer)
    {
        int orgLength = Encoding.UTF8.GetByteCount(orgId);
        var bytes = new byte[ProtoSpanWriter.BytesFieldSize(1, orgLength) + ProtoSpanWriter.BytesFieldSize(2, certificateDer.Length)];
        var w = new ProtoSpanWriter(bytes);
        w.WriteBytesField(1, Encoding.UTF8.GetBytes(orgId));
        w.WriteBytesField(2, certificateDer);
        return bytes;
    }

    /// <summary>Identity bytes naming the org alone (no certificate): what alive messages carry after publishCertPeriod.</summary>
    public static byte[] EncodeOrgOnly(string orgId)
    {
        var name = Encoding.UTF8.GetBytes(orgId);
        var bytes = new byte[ProtoSpanWriter.BytesFieldSize(1, name.Length)];
        new ProtoSpanWriter(bytes).WriteBytesField(1, name);
        return bytes;
    }

    /// <summary>The org id (UTF-8) of identity bytes, with or without a certificate; false when malformed or absent.</summary>
    public static bool TryReadOrg(ReadOnlySpan<byte> identity, out ReadOnlySpan<byte> orgId)
    {
        orgId = default;
        if (identity.IsEmpty || identity.Length > MaxLength)
        {
            return false;
        }

        var r = new ProtoSpanReader(identity);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            if (!((field, wt) == (1, WireType.LengthDelimited) ? r.TryReadBytes(out orgId) : r.TrySkip(wt)))
            {
                return false;
            }
        }

        return !orgId.IsEmpty;
    }

    /// <summary>True when identity bytes carry a certificate (id_bytes), not only the org.</summary>
    public static bool CarriesCertificate(ReadOnlySpan<byte> identity)
    {
        var r = new ProtoSpanReader(identity);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return true; // malformed: let the trust store refuse it
            }

            if (field == 2 && wt == WireType.LengthDelimited)
            {
                return r.TryReadBytes(out var der) ? !der.IsEmpty : true;
            }

            if (!r.TrySkip(wt))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Splits identity bytes into the org id (UTF-8) and the certificate DER; false on malformed input.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> identity, out ReadOnlySpan<byte> orgId, out ReadOnlySpan<byte> certificateDer)
    {
        orgId = default;
        certificateDer = default;
        if (identity.IsEmpty || identity.Length > MaxLength)
        {
            return false;
        }

        var r = new ProtoSpanReader(identity);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.LengthDelimited) => r.TryReadBytes(out orgId),
                (2, WireType.LengthDelimited) => r.TryReadBytes(out certificateDer),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        return !orgId.IsEmpty && orgId.Length <= MaxOrgIdLength && !certificateDer.IsEmpty;
    }

    /// <summary>Org ids are 1-64 characters of [A-Za-z0-9._-], not starting with '.': safe in a file path and a DN.</summary>
    public static bool IsValidOrgId(ReadOnlySpan<char> orgId)
    {
        if (orgId.IsEmpty || orgId.Length > MaxOrgIdLength || orgId[0] == '.')
        {
            return false;
        }

        foreach (char c in orgId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
