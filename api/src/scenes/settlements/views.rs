//! What settlement shows: statements as JSON and CSV, the alliance report as CSV. Every CSV goes
//! through `platform::csv` (UTF-8 with a BOM for Excel, cells neutralised).

use ehome_entities::{settlement, settlement_rate};
use serde_json::{Value, json};

use super::report::{AllianceReport, Tally};
use super::service::Statement;
use crate::platform::csv::Document;
use crate::points::points_text;

/// Fen as yuan text ("12.50"); the same two places as points.
fn yuan(fen: i64) -> String {
    ehome_ledger::Asset::Cny.format_minor(fen)
}

pub fn rate_json(community: i64, row: Option<settlement_rate::Model>) -> Value {
    match row {
        Some(row) => json!({"community_id": community, "rate": row.rate, "set_by": row.set_by, "set_at": row.set_at}),
        None => json!({"community_id": community, "rate": null, "set_by": null, "set_at": null}),
    }
}

/// A statement without its lines (lists).
pub fn summary_json(row: &settlement::Model) -> Value {
    json!({
        "id": row.id,
        "merchant_id": row.merchant_id,
        "community_id": row.community_id,
        "from": row.period_first_day.to_string(),
        "to": row.period_last_day.to_string(),
        "status": row.status,
        "rate": row.rate,
        "pays_cny": row.rate.is_some() && row.cny_minor > 0,
        "line_count": row.line_count,
        "points": points_text(row.points_minor),
        "cny": yuan(row.cny_minor),
        "cny_exact": row.cny_exact,
        "drafted_by": row.drafted_by,
        "drafted_at": row.drafted_at,
        "approved_by": row.approved_by,
        "approved_at": row.approved_at,
        "paid_by": row.paid_by,
        "paid_at": row.paid_at,
        "bank_reference": row.bank_reference,
        "cancelled_at": row.cancelled_at,
        "points_transfer_id": row.points_transfer_id,
        "cny_transfer_id": row.cny_transfer_id,
        "payment_transfer_id": row.payment_transfer_id,
    })
}

pub fn statement_json(statement: &Statement) -> Value {
    let mut value = summary_json(&statement.row);
    value["merchant"] = json!({"id": statement.merchant.id, "name": statement.merchant.name});
    let lines: Vec<Value> = statement
        .lines
        .iter()
        .map(|line| {
            json!({
                "redemption_id": line.redemption_id,
                "offer_id": line.offer_id,
                "offer": statement.offer_titles.get(&line.offer_id),
                "quantity": line.quantity,
                "captured_at": line.captured_at,
                "points": points_text(line.points_minor),
                "cny": yuan(line.cny_minor),
            })
        })
        .collect();
    value["lines"] = json!(lines);
    value
}

/// A statement as CSV: a line per redemption, then the total (the sum of the lines) and the exact
/// product of the total points and the rate.
pub fn statement_csv(statement: &Statement) -> String {
    let row = &statement.row;
    let mut document = Document::new(&["结算单", "商家", "兑换编号", "优惠", "数量", "核销时间", "积分", "金额(元)"]);
    let (id, merchant) = (row.id.to_string(), statement.merchant.name.as_str());
    for line in &statement.lines {
        let title = statement.offer_titles.get(&line.offer_id).map_or("", String::as_str);
        document.line([
            id.as_str(),
            merchant,
            &line.redemption_id.to_string(),
            title,
            &line.quantity.to_string(),
            &line.captured_at.to_rfc3339(),
            &points_text(line.points_minor),
            &yuan(line.cny_minor),
        ]);
    }
    let period = format!("{} ~ {}", row.period_first_day, row.period_last_day);
    document.line([
        id.as_str(),
        merchant,
        "合计",
        &period,
        "",
        &row.status,
        &points_text(row.points_minor),
        &yuan(row.cny_minor),
    ]);
    let rate = row.rate.as_deref().unwrap_or("");
    document.line([id.as_str(), merchant, "费率(元/分)", rate, "", "精确金额", "", &row.cny_exact]);
    document.finish()
}

fn tally_line(document: &mut Document, kind: &str, tally: &Tally) {
    document.line([
        kind,
        &tally.merchant_id.to_string(),
        &tally.merchant,
        &tally.offer_id.map(|o| o.to_string()).unwrap_or_default(),
        tally.offer.as_deref().unwrap_or(""),
        &tally.redemptions.to_string(),
        &tally.quantity.to_string(),
        &tally.points,
        &tally.refunds.to_string(),
        &tally.refunded_points,
    ]);
}

/// The alliance report as CSV: a line per offer and per merchant, then the points moved in the
/// period and held at its end.
pub fn report_csv(report: &AllianceReport) -> String {
    let mut document = Document::new(&[
        "类别",
        "商家编号",
        "商家",
        "优惠编号",
        "优惠",
        "兑换次数",
        "数量",
        "积分",
        "退款次数",
        "退款积分",
    ]);
    for tally in &report.offers {
        tally_line(&mut document, "offer", tally);
    }
    for tally in &report.merchants {
        tally_line(&mut document, "merchant", tally);
    }
    let period = format!("{} ~ {}", report.from, report.to);
    let figures = [
        ("period_issued", &report.period.issued),
        ("period_redeemed", &report.period.redeemed),
        ("period_expired", &report.period.expired),
        ("issued", &report.at_end.issued),
        ("redeemed", &report.at_end.redeemed),
        ("expired", &report.at_end.expired),
        ("settled", &report.at_end.settled),
        ("outstanding", &report.at_end.outstanding),
    ];
    for (kind, points) in figures {
        document.line([kind, "", "", "", &period, "", "", points.as_str(), "", ""]);
    }
    document.finish()
}
