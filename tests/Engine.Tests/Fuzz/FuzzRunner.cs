using System.Collections.Concurrent;
using System.Diagnostics;

namespace Engine.Tests.Fuzz;

/// <summary>
/// Runs a decoder over <see cref="Inputs"/> seeded inputs, split in chunks spread over the cores (each chunk its own seed,
/// so any failure replays from the seed and index the report gives). An exception that is not on the decoder's
/// documented list fails the run with the input in hex; so does an input whose decoding allocated more than the limit.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>Inputs per decoder (the minimum). The whole suite takes well under a minute on two cores.</summary>
    public const int Inputs = 1_000_000;

    private const int Chunk = 62_500;

    /// <summary>A decoder under test; <paramref name="scratch"/> is per-thread state prepared outside the measurement.</summary>
    public delegate void Decode(ReadOnlySpan<byte> input, FuzzScratch scratch);

    public sealed record Report(string Name, int Inputs, TimeSpan Elapsed, long MaxAllocation, long TotalAllocation, long Exceptions);

    /// <param name="name">The decoder, for the report.</param>
    /// <param name="seed">Base seed; chunk i uses seed + i.</param>
    /// <param name="corpus">Valid encodings to mutate.</param>
    /// <param name="decode">The decoder under test.</param>
    /// <param name="allocationLimit">Bytes one input may allocate (measured per input on the decoding thread).</param>
    /// <param name="expected">Exception types the decoder documents (e.g. InvalidProtocolBufferException); others fail.</param>
    /// <param name="inputs">How many inputs.</param>
    /// <param name="bufferSize">Largest input.</param>
    public static Report Run(string name, int seed, byte[][] corpus, Decode decode, long allocationLimit, Type[]? expected = null,
        int inputs = Inputs, int bufferSize = 4096, int maxRandomLength = 96)
    {
        expected ??= [];
        var failures = new ConcurrentQueue<string>();
        long maxAllocation = 0, totalAllocation = 0, exceptions = 0;
        int chunks = (inputs + Chunk - 1) / Chunk;
        // Once-per-process set-up the decoder does on first use (a native library's binding, static constructors) is
        // not a per-input allocation: run the corpus once first, so the verdict does not depend on which test ran first.
        var warmUp = new FuzzScratch();
        foreach (var valid in corpus)
        {
            try
            {
                decode(valid, warmUp);
            }
            catch (Exception e) when (expected.Contains(e.GetType()))
            {
            }
        }

        var stopwatch = Stopwatch.StartNew();
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, chunk =>
        {
            var mutator = new Mutator(seed + chunk, corpus, maxRandomLength);
            byte[] buffer = new byte[bufferSize];
            var scratch = new FuzzScratch();
            long localMax = 0, localTotal = 0, localExceptions = 0;
            int count = Math.Min(Chunk, inputs - (chunk * Chunk));
            for (int i = 0; i < count && failures.IsEmpty; i++)
            {
                int length = mutator.Next(buffer);
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    decode(buffer.AsSpan(0, length), scratch);
                }
                catch (Exception e) when (expected.Contains(e.GetType()))
                {
                    localExceptions++;
                }
                catch (Exception e)
                {
                    failures.Enqueue($"{name}: seed {seed + chunk} input {i} threw {e.GetType().Name}: {e.Message}\n  input ({length} bytes): {Convert.ToHexString(buffer, 0, length)}\n{e.StackTrace}");
                    break;
                }

                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (allocated > allocationLimit)
                {
                    // A decoder's own allocation repeats on the same input; the runtime's occasional bookkeeping on
                    // this thread (a collection retiring its allocation context mid-input) does not: judge the repeat.
                    before = GC.GetAllocatedBytesForCurrentThread();
                    try
                    {
                        decode(buffer.AsSpan(0, length), scratch);
                    }
                    catch (Exception e) when (expected.Contains(e.GetType()))
                    {
                    }

                    allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                }

                localTotal += allocated;
                if (allocated > localMax)
                {
                    localMax = allocated;
                }

                if (allocated > allocationLimit)
                {
                    failures.Enqueue($"{name}: seed {seed + chunk} input {i} allocated {allocated} bytes (limit {allocationLimit})\n  input ({length} bytes): {Convert.ToHexString(buffer, 0, length)}");
                    break;
                }
            }

            InterlockedMax(ref maxAllocation, localMax);
            Interlocked.Add(ref totalAllocation, localTotal);
            Interlocked.Add(ref exceptions, localExceptions);
        });

        var report = new Report(name, inputs, stopwatch.Elapsed, maxAllocation, totalAllocation, exceptions);
        TestContext.Out.WriteLine($"{name}: {inputs:N0} inputs in {report.Elapsed.TotalSeconds:F2} s, max {maxAllocation} B/input, total {totalAllocation:N0} B, {exceptions:N0} documented exceptions");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        return report;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current = Volatile.Read(ref target);
        while (value > current)
        {
            long seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>Per-thread buffers a decoder test may use without its own allocations counting against the decoder.</summary>
internal sealed class FuzzScratch
{
    private readonly Segment _first = new();
    private readonly Segment _second = new();
    private readonly Segment _third = new();

    public byte[] Buffer { get; } = new byte[64 * 1024];

    /// <summary>The input copied into <see cref="Buffer"/>, as one segment.</summary>
    public System.Buffers.ReadOnlySequence<byte> Single(ReadOnlySpan<byte> input)
    {
        input.CopyTo(Buffer);
        return new System.Buffers.ReadOnlySequence<byte>(Buffer, 0, input.Length);
    }

    /// <summary>The input copied into <see cref="Buffer"/>, as three segments (cut at a third and two thirds).</summary>
    public System.Buffers.ReadOnlySequence<byte> Split(ReadOnlySpan<byte> input)
    {
        input.CopyTo(Buffer);
        int cut1 = input.Length / 3, cut2 = 2 * input.Length / 3;
        _first.Set(Buffer.AsMemory(0, cut1), 0, _second);
        _second.Set(Buffer.AsMemory(cut1, cut2 - cut1), cut1, _third);
        _third.Set(Buffer.AsMemory(cut2, input.Length - cut2), cut2, null);
        return new System.Buffers.ReadOnlySequence<byte>(_first, 0, _third, input.Length - cut2);
    }

    private sealed class Segment : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public void Set(ReadOnlyMemory<byte> memory, long runningIndex, Segment? next)
        {
            Memory = memory;
            RunningIndex = runningIndex;
            Next = next;
        }
    }
}
