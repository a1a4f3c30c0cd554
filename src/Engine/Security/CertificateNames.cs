using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Security;

/// <summary>Reads the parts of a certificate Engine's identity model uses.</summary>
internal static class CertificateNames
{
    private const string OrganizationOid = "2.5.4.10";

    /// <summary>The subject's O (organization) attribute, or null when it has none (or several).</summary>
    public static string? Organization(X509Certificate2 certificate)
    {
        string? found = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value == OrganizationOid)
            {
                if (found is not null)
                {
                    return null;
                }

                found = rdn.GetSingleElementValue();
            }
        }

        return found;
    }

    public static bool IsCertificateAuthority(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509BasicConstraintsExtension basic)
            {
                return basic.CertificateAuthority;
            }
        }

        return false;
    }

    /// <summary>True when the certificate's public key is ECDSA on P-256.</summary>
    public static bool HasP256Key(X509Certificate2 certificate)
    {
        try
        {
            using var key = certificate.GetECDsaPublicKey();
            return key is not null && key.KeySize == 256 && key.ExportParameters(false).Curve.Oid.Value == "1.2.840.10045.3.1.7";
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }
}
