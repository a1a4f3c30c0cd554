namespace Engine.Security;

/// <summary>The verdict on one envelope.</summary>
internal enum VerifyResult
{
    /// <summary>The signature was checked and is the claimed peer's.</summary>
    Verified,

    /// <summary>These exact bytes were verified before (a copy): accepted without the signature check.</summary>
    Cached,

    /// <summary>The message is of a kind that is not signed (data, pull, membership request/response ...): nothing to check.</summary>
    NotSigned,

    /// <summary>The envelope or its signed content does not parse, or the PKI-ID is not 32 bytes.</summary>
    Malformed,

    /// <summary>A kind that must be signed came without a signature.</summary>
    Unsigned,

    /// <summary>No identity is known for the claimed PKI-ID (and the message carries none): pull it, then the message verifies.</summary>
    UnknownIdentity,

    /// <summary>The message carried an identity the trust store refused, or one that is not the claimed PKI-ID's.</summary>
    BadIdentity,

    /// <summary>The claimed peer's certificate has expired.</summary>
    ExpiredIdentity,

    /// <summary>The signature does not verify with the claimed peer's key.</summary>
    Forged,
}

/// <summary>Extension helpers on <see cref="VerifyResult"/>.</summary>
internal static class VerifyResultExtensions
{
    /// <summary>True when the message may be processed (verified, a verified copy, or a kind that is not signed).</summary>
    public static bool IsAccepted(this VerifyResult result) => result is VerifyResult.Verified or VerifyResult.Cached or VerifyResult.NotSigned;
}
