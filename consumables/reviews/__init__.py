"""Reviews (审核): one person proposes, a second person decides, every decision says why.

One workflow for every kind of review in the master: mapping changes (对码变更), supplier
submissions (供应商提交) and price versions (调价审核). ``models.Reviewed`` is the one field
vocabulary, ``services`` the one propose / approve / reject; what an approval does (apply
the codes, put the prices in force) is each kind's hook.
"""
