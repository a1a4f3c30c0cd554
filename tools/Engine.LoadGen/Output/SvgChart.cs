using System.Globalization;
using System.Security;
using System.Text;

namespace Engine.LoadGen.Output;

/// <summary>One line on a chart.</summary>
internal sealed record ChartSeries(string Name, IReadOnlyList<(double X, double Y)> Points);

/// <summary>A moment marked on a chart's x axis by a dashed vertical line and a label (e.g. "peer killed").</summary>
internal sealed record ChartMarker(double X, string Label);

/// <summary>One group of a bar chart: a label and one value per series.</summary>
internal sealed record BarGroup(string Label, IReadOnlyList<double> Values);

/// <summary>
/// Writes a line chart as a self-contained SVG: axes with rounded ticks, a light grid, a legend, and a title. No dependencies.
/// </summary>
internal static class SvgChart
{
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

    public static void Write(string path, string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series,
        IReadOnlyList<ChartMarker>? markers = null)
    {
        const int Width = 860, Height = 480, Left = 80, Right = 30, Top = 50, Bottom = 60;
        var all = series.SelectMany(s => s.Points).ToList();
        double xMax = all.Count > 0 ? all.Max(p => p.X) : 1;
        double yMax = all.Count > 0 ? all.Max(p => p.Y) : 1;
        double xMin = Math.Min(0, all.Count > 0 ? all.Min(p => p.X) : 0);
        double xStep = NiceStep(xMax - xMin), yStep = NiceStep(yMax);
        xMax = Math.Max(xStep, Math.Ceiling(xMax / xStep) * xStep);
        yMax = Math.Max(yStep, Math.Ceiling(yMax / yStep) * yStep);
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Sx(double x) => Left + ((x - xMin) / (xMax - xMin) * plotW);
        double Sy(double y) => Top + plotH - (y / yMax * plotH);

        var svg = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        svg.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(c, $"<text x=\"{Width / 2}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{Esc(title)}</text>\n");
        for (double y = 0; y <= yMax + (yStep / 2); y += yStep)
        {
            svg.Append(c, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Sy(y):F1}\" y2=\"{Sy(y):F1}\" stroke=\"#e5e5e5\"/>");
            svg.Append(c, $"<text x=\"{Left - 8}\" y=\"{Sy(y) + 4:F1}\" text-anchor=\"end\">{Format(y)}</text>\n");
        }

        for (double x = xMin; x <= xMax + (xStep / 2); x += xStep)
        {
            svg.Append(c, $"<line x1=\"{Sx(x):F1}\" x2=\"{Sx(x):F1}\" y1=\"{Top}\" y2=\"{Top + plotH}\" stroke=\"#f0f0f0\"/>");
            svg.Append(c, $"<text x=\"{Sx(x):F1}\" y=\"{Top + plotH + 18}\" text-anchor=\"middle\">{Format(x)}</text>\n");
        }

        svg.Append(c, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#333\"/>\n");
        svg.Append(c, $"<text x=\"{Left + (plotW / 2)}\" y=\"{Height - 15}\" text-anchor=\"middle\">{Esc(xLabel)}</text>\n");
        svg.Append(c, $"<text transform=\"translate(20,{Top + (plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">{Esc(yLabel)}</text>\n");
        for (int m = 0; m < (markers?.Count ?? 0); m++)
        {
            var marker = markers![m];
            if (marker.X < xMin || marker.X > xMax)
            {
                continue;
            }

            double mx = Sx(marker.X);
            svg.Append(c, $"<line x1=\"{mx:F1}\" x2=\"{mx:F1}\" y1=\"{Top}\" y2=\"{Top + plotH}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>");
            svg.Append(c, $"<text transform=\"translate({mx + 4:F1},{Top + plotH - 6 - (m % 3 * 2):F1}) rotate(-90)\" font-size=\"10\" fill=\"#555\">{Esc(marker.Label)}</text>\n");
        }

        for (int i = 0; i < series.Count; i++)
        {
            string color = Palette[i % Palette.Length];
            var points = string.Join(" ", series[i].Points.Select(p => string.Create(c, $"{Sx(p.X):F1},{Sy(p.Y):F1}")));
            svg.Append(c, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{points}\"/>\n");
            double ly = Top + 16 + (i * 18);
            svg.Append(c, $"<line x1=\"{Width - Right - 190}\" x2=\"{Width - Right - 170}\" y1=\"{ly - 4}\" y2=\"{ly - 4}\" stroke=\"{color}\" stroke-width=\"3\"/>");
            svg.Append(c, $"<text x=\"{Width - Right - 165}\" y=\"{ly}\">{Esc(series[i].Name)}</text>\n");
        }

        svg.Append("</svg>\n");
        Save(path, svg);
    }

    /// <summary>
    /// Writes a horizontal grouped bar chart: one row per group, one bar per series in it (e.g. per attack: attempts and
    /// refused), values on a shared axis from 0, each bar labelled with its value.
    /// </summary>
    public static void WriteBars(string path, string title, string valueLabel, IReadOnlyList<string> seriesNames, IReadOnlyList<BarGroup> groups)
    {
        const int Width = 860, Left = 250, Right = 60, Top = 70, Bottom = 50, BarHeight = 12, GroupGap = 10;
        int groupHeight = (seriesNames.Count * BarHeight) + GroupGap;
        int height = Top + Bottom + Math.Max(1, groups.Count) * groupHeight;
        double max = groups.SelectMany(g => g.Values).DefaultIfEmpty(1).Max();
        double step = NiceStep(max);
        max = Math.Max(step, Math.Ceiling(max / step) * step);
        double plotW = Width - Left - Right;
        double Sx(double v) => Left + (v / max * plotW);

        var svg = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        svg.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(c, $"<text x=\"{Width / 2}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{Esc(title)}</text>\n");
        for (int i = 0; i < seriesNames.Count; i++)
        {
            double lx = Left + (i * 160);
            svg.Append(c, $"<rect x=\"{lx:F1}\" y=\"42\" width=\"14\" height=\"10\" fill=\"{Palette[i % Palette.Length]}\"/>");
            svg.Append(c, $"<text x=\"{lx + 20:F1}\" y=\"51\">{Esc(seriesNames[i])}</text>\n");
        }

        double plotBottom = height - Bottom;
        for (double v = 0; v <= max + (step / 2); v += step)
        {
            svg.Append(c, $"<line x1=\"{Sx(v):F1}\" x2=\"{Sx(v):F1}\" y1=\"{Top}\" y2=\"{plotBottom}\" stroke=\"#eee\"/>");
            svg.Append(c, $"<text x=\"{Sx(v):F1}\" y=\"{plotBottom + 18}\" text-anchor=\"middle\">{Format(v)}</text>\n");
        }

        for (int g = 0; g < groups.Count; g++)
        {
            double gy = Top + (g * groupHeight);
            svg.Append(c, $"<text x=\"{Left - 8}\" y=\"{gy + (seriesNames.Count * BarHeight / 2.0) + 4:F1}\" text-anchor=\"end\">{Esc(groups[g].Label)}</text>\n");
            for (int i = 0; i < groups[g].Values.Count && i < seriesNames.Count; i++)
            {
                double v = groups[g].Values[i];
                double y = gy + (i * BarHeight);
                svg.Append(c, $"<rect x=\"{Left}\" y=\"{y:F1}\" width=\"{Math.Max(0, Sx(v) - Left):F1}\" height=\"{BarHeight - 2}\" fill=\"{Palette[i % Palette.Length]}\"/>");
                svg.Append(c, $"<text x=\"{Sx(v) + 4:F1}\" y=\"{y + BarHeight - 3:F1}\" font-size=\"10\">{Format(v)}</text>\n");
            }
        }

        svg.Append(c, $"<line x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{plotBottom}\" stroke=\"#333\"/>\n");
        svg.Append(c, $"<text x=\"{Left + (plotW / 2)}\" y=\"{height - 12}\" text-anchor=\"middle\">{Esc(valueLabel)}</text>\n");
        svg.Append("</svg>\n");
        Save(path, svg);
    }

    private static void Save(string path, StringBuilder svg)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        File.WriteAllText(path, svg.ToString());
    }

    private static double NiceStep(double range)
    {
        if (range <= 0 || !double.IsFinite(range))
        {
            return 1;
        }

        double raw = range / 6;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double norm = raw / magnitude;
        return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
    }

    private static string Format(double v) =>
        Math.Abs(v) >= 1_000_000 ? (v / 1_000_000).ToString("0.#", CultureInfo.InvariantCulture) + "M"
        : Math.Abs(v) >= 1_000 ? (v / 1_000).ToString("0.#", CultureInfo.InvariantCulture) + "k"
        : v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Esc(string s) => SecurityElement.Escape(s) ?? "";
}
