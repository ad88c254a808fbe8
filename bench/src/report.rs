//! Tables and charts of the results.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::measure::ms;
use crate::pairs::Row;
use crate::scale::ScaleRow;

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The pairs as a Markdown table.
pub fn pairs_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| work | ours | against | ours median (ms) | theirs median (ms) | ratio | goal | met | ours peak (MiB) | theirs peak (MiB) |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n",
    );
    for row in rows {
        let c = &row.comparison;
        let (goal, met) = match row.goal {
            Some(goal) => (format!("≤ {goal}"), if c.ratio() <= goal { "yes" } else { "**no**" }),
            None => ("report".into(), "-"),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ({}–{}) | {} ({}–{}) | {:.2} | {goal} | {met} | {} | {} |",
            row.work,
            row.ours,
            row.theirs,
            ms(c.ours.median),
            ms(c.ours.low),
            ms(c.ours.high),
            ms(c.theirs.median),
            ms(c.theirs.low),
            ms(c.theirs.high),
            c.ratio(),
            mib(c.ours.max_rss_kib),
            mib(c.theirs.max_rss_kib),
        );
    }
    out
}

/// The scaling run as a Markdown table: medians in ms (peak MiB in brackets
/// where memory matters), and the ratios measured side by side.
pub fn scale_table(rows: &[ScaleRow]) -> String {
    let mut out = String::from(
        "| corpus | tracked files | guard | no-op hook | `git status` | check, cold | check, warm | warm / status | plain check | plain / status | check, K edited | checkout round trip, hooks | without hooks | ratio | clean --dry-run |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {}x | {} | {} ({}) | {} | {} | {} ({}) | {} ({}) | {:.2} | {} | {:.2} | {} (K = {}) | {} | {} | {:.2} | {} |",
            row.size,
            row.files,
            ms(row.guard.median),
            mib(row.guard.max_rss_kib),
            ms(row.noop.median),
            ms(row.check_warm.theirs.median),
            ms(row.check_cold.ours.median),
            mib(row.check_cold.ours.max_rss_kib),
            ms(row.check_warm.ours.median),
            mib(row.check_warm.ours.max_rss_kib),
            row.check_warm.ratio(),
            ms(row.check_plain.ours.median),
            row.check_plain.ratio(),
            ms(row.check_edited.median),
            row.edited,
            ms(row.checkout.ours.median),
            ms(row.checkout.theirs.median),
            row.checkout.ratio(),
            ms(row.clean.median),
        );
    }
    out
}

fn plot_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow!("drawing a chart: {error:?}")
}

fn seconds(stats: &crate::measure::Stats) -> f64 {
    stats.median.as_secs_f64() * 1000.0
}

/// Ratios (ours / theirs, log scale), one bar per pair, with each goal marked.
pub fn ratio_chart(rows: &[Row], path: &Path, title: &str) -> Result<()> {
    let root = SVGBackend::new(path, (820, 70 + 42 * rows.len() as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let count = rows.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(130)
        .build_cartesian_2d((0.01f64..3.0).log_scale(), 0.0..count)
        .map_err(plot_error)?;
    // Row i is the band i..i+1 from the top; its label sits at its middle.
    let label = |y: &f64| {
        let position = count - y - 0.5;
        let row = position.round();
        if (position - row).abs() < 0.01 && row >= 0.0 {
            rows.get(row as usize).map(|r| r.name.to_string()).unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("time ratio, ours / theirs (log scale); a bar left of its red goal mark meets the goal")
        .y_labels(rows.len() * 2 + 1)
        .y_label_formatter(&label)
        .disable_y_mesh()
        .draw()
        .map_err(plot_error)?;
    for (index, row) in rows.iter().enumerate() {
        let band = count - index as f64 - 1.0;
        let ratio = row.comparison.ratio().max(0.01);
        let met = row.goal.is_none_or(|goal| ratio <= goal);
        let color = if met { RGBColor(46, 125, 50) } else { RGBColor(198, 40, 40) };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.01, band + 0.2), (ratio, band + 0.8)],
                color.mix(0.45).filled(),
            )))
            .map_err(plot_error)?;
        let text = match row.goal {
            Some(goal) => format!("{ratio:.2} (goal {goal})"),
            None => format!("{ratio:.2} (reported)"),
        };
        chart
            .draw_series(std::iter::once(Text::new(text, (ratio * 1.06, band + 0.62), ("sans-serif", 12))))
            .map_err(plot_error)?;
        if let Some(goal) = row.goal {
            chart
                .draw_series(LineSeries::new(vec![(goal, band + 0.1), (goal, band + 0.9)], RED.stroke_width(3)))
                .map_err(plot_error)?;
        }
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

/// Median time per corpus size for the guard, the no-op hook and `check`.
pub fn scale_chart(rows: &[ScaleRow], path: &Path, title: &str) -> Result<()> {
    let root = SVGBackend::new(path, (820, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let max_files = rows.iter().map(|row| row.files).max().unwrap_or(1) as f64;
    let min_files = rows.iter().map(|row| row.files).min().unwrap_or(1) as f64;
    let max_ms = rows.iter().map(|row| row.check_cold.ours.median.as_secs_f64() * 1000.0).fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((min_files * 0.8..max_files * 1.25).log_scale(), (0.3f64..max_ms * 2.0).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("tracked files (log scale)")
        .y_desc("median time, ms (log scale)")
        .draw()
        .map_err(plot_error)?;
    type Series = (&'static str, RGBColor, fn(&ScaleRow) -> f64);
    let series: [Series; 9] = [
        ("commit guard", RGBColor(21, 101, 192), |row| seconds(&row.guard)),
        ("no-op post-checkout", RGBColor(46, 125, 50), |row| seconds(&row.noop)),
        ("git status --porcelain", RGBColor(120, 120, 120), |row| seconds(&row.check_warm.theirs)),
        ("check, cold", RGBColor(198, 40, 40), |row| seconds(&row.check_cold.ours)),
        ("check --select syntax-error, warm", RGBColor(239, 108, 0), |row| seconds(&row.check_warm.ours)),
        ("check (every check), warm", RGBColor(255, 179, 0), |row| seconds(&row.check_plain.ours)),
        ("check, K edited", RGBColor(142, 36, 170), |row| seconds(&row.check_edited)),
        ("checkout of 2,000 files x2, hooks", RGBColor(0, 131, 143), |row| seconds(&row.checkout.ours)),
        ("clean --dry-run", RGBColor(93, 64, 55), |row| seconds(&row.clean)),
    ];
    for (label, color, value) in series {
        let points: Vec<(f64, f64)> = rows.iter().map(|row| (row.files as f64, value(row).max(0.3))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(plot_error)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(points.into_iter().map(|point| Circle::new(point, 4, color.filled()))).map_err(plot_error)?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.9)).border_style(BLACK).draw().map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}
