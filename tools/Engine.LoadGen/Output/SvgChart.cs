using System.Globalization;
using System.Security;
using System.Text;

namespace Engine.LoadGen.Output;

/// <summary>One line on a chart.</summary>
internal sealed record ChartSeries(string Name, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// Writes a line chart as a self-contained SVG: axes with rounded ticks, a light grid, a legend, and a title. No dependencies.
/// </summary>
internal static class SvgChart
{
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

    public static void Write(string path, string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series)
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
