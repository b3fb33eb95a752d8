"""Every read of the billing app: what a ward, HIS and the bedside page read (``ward``),
the audit trail (``audit_trail``, 审计追踪), and the finance and insurance-office reports
(财务/医保办报表), read from the stored reconciliation.

The nightly run (``billing.reconciliation``) stores one ``ReconciliationRun`` per business day
with its ``VarianceRow`` and ``ExceptionRow`` rows; these selectors aggregate those rows in
SQL over a period, so a page costs a fixed number of queries whatever the number of days and
departments it shows. Only the theatres' daily report and the four-price report read the live
ledger, charges and prices, because they describe one day or the prices in force now.

Report modules: ``common`` (periods, exception kinds and the identity of a finding), ``variance``
(daily series, department and item rankings), ``drill`` (the exceptions of an item and the
moves and charges behind one), ``people`` (findings by person), ``theatre`` (每日手术室高值
耗材报表), ``four_price`` (四价统一).
"""
