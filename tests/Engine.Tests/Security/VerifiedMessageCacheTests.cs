using Engine.Membership;
using Engine.Security;

namespace Engine.Tests.Security;

public class VerifiedMessageCacheTests
{
    private static PkiId Id(int i) => PkiId.Compute("Org1", BitConverter.GetBytes(i));

    private static Hash256 Digest(int i) => Hash256.OfSignedPayload(BitConverter.GetBytes(i), [1, 2, 3]);

    [Test]
    public void AHitNeedsTheSameKindPeerTimeAndDigest()
    {
        var cache = new VerifiedMessageCache(64);
        var pki = Id(1);
        cache.Add(SignedKind.Alive, pki, new PeerTime(1, 1), Digest(1));
        Assert.That(cache.Contains(SignedKind.Alive, pki, new PeerTime(1, 1), Digest(1)), Is.True);
        Assert.That(cache.Contains(SignedKind.Alive, pki, new PeerTime(1, 1), Digest(2)), Is.False);
        Assert.That(cache.Contains(SignedKind.Alive, pki, new PeerTime(1, 2), Digest(1)), Is.False);
        Assert.That(cache.Contains(SignedKind.StateInfo, pki, new PeerTime(1, 1), Digest(1)), Is.False);
        Assert.That(cache.Contains(SignedKind.Alive, Id(2), new PeerTime(1, 1), Digest(1)), Is.False);
    }

    [Test]
    public void ItStaysWithinItsCapacityAndKeepsRecentEntries()
    {
        var cache = new VerifiedMessageCache(1000);
        Assert.That(cache.Capacity, Is.EqualTo(1024));
        var pki = Id(1);
        for (ulong seq = 0; seq < 100_000; seq++)
        {
            cache.Add(SignedKind.Alive, pki, new PeerTime(1, seq), Digest((int)seq));
        }

        int recent = 0;
        for (ulong seq = 99_900; seq < 100_000; seq++)
        {
            recent += cache.Contains(SignedKind.Alive, pki, new PeerTime(1, seq), Digest((int)seq)) ? 1 : 0;
        }

        Assert.That(recent, Is.GreaterThan(80), "most of the last 100 of 100,000 entries survive in 1,024 slots");
    }

    [Test]
    public void ConcurrentWritersAndReadersNeverSeeAFalseHit()
    {
        // Every writer stores digest(seq) for its own peer; readers ask with digest(seq + 1): any hit is a torn read.
        var cache = new VerifiedMessageCache(64); // small, so slots are contended
        int falseHits = 0;
        long hits = 0;
        var stop = DateTime.UtcNow.AddMilliseconds(500);
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var pki = Id(t % 2);
            ulong seq = 0;
            while (DateTime.UtcNow < stop)
            {
                seq++;
                cache.Add(SignedKind.Alive, pki, new PeerTime(1, seq % 50), Digest((int)(seq % 50)));
                if (cache.Contains(SignedKind.Alive, pki, new PeerTime(1, seq % 50), Digest((int)(seq % 50) + 1)))
                {
                    Interlocked.Increment(ref falseHits);
                }

                if (cache.Contains(SignedKind.Alive, pki, new PeerTime(1, (seq + 7) % 50), Digest((int)((seq + 7) % 50))))
                {
                    Interlocked.Increment(ref hits);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.That(falseHits, Is.Zero);
        Assert.That(hits, Is.GreaterThan(0), "the readers did find entries");
    }
}
