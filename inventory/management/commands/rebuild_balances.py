"""python manage.py rebuild_balances [--check]

Stock balances are a kept copy of the ledger (docs/architecture.md, the stock ledger): this command
compares them with the balances computed from the moves, and repairs them.
"""

from django.core.management.base import BaseCommand, CommandError

from consumables.models import Consumable
from inventory.ledger import kept_balances, rebuild_balances, recompute_balances
from inventory.models import Lot
from organisation.models import Location


def balance_differences() -> list[tuple[tuple[int, int, int], int, int]]:
    """[((location, consumable, lot), kept, from ledger)] where the two disagree."""
    computed = {key: qty for key, qty in recompute_balances().items() if qty}
    kept = kept_balances()
    return [
        (key, kept.get(key, 0), computed.get(key, 0))
        for key in sorted(computed.keys() | kept.keys())
        if kept.get(key, 0) != computed.get(key, 0)
    ]


class Command(BaseCommand):
    help = (
        "核对或重建库存余额 / Check or rebuild the stock balances from the ledger. "
        "--check: only compare, list the differences and exit non-zero if there are any. "
        "Without --check: repair the kept balances and print how many rows changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="只核对不修改 / compare only; exit status 1 when balances differ",
        )

    def handle(self, *args, check=False, **options):
        if not check:
            changed = rebuild_balances()
            self.stdout.write(
                self.style.SUCCESS(
                    f"已重建库存余额：{changed} 行变更 / balances rebuilt: {changed} rows changed"
                )
            )
            return
        differences = balance_differences()
        if not differences:
            self.stdout.write(
                self.style.SUCCESS("库存余额与流水一致 / balances agree with the ledger")
            )
            return
        locations = dict(
            Location.objects.filter(pk__in={k[0] for k, _, _ in differences}).values_list(
                "pk", "code"
            )
        )
        items = dict(
            Consumable.objects.filter(pk__in={k[1] for k, _, _ in differences}).values_list(
                "pk", "material_code"
            )
        )
        lots = dict(
            Lot.objects.filter(pk__in={k[2] for k, _, _ in differences}).values_list(
                "pk", "lot_no"
            )
        )
        self.stdout.write("location\tmaterial_code\tlot\tkept\tledger")
        for (location, item, lot), kept, ledger in differences:
            self.stdout.write(
                f"{locations.get(location, location)}\t{items.get(item, item)}\t"
                f"{lots.get(lot) or '-'}\t{kept}\t{ledger}"
            )
        raise CommandError(
            f"{len(differences)} 行库存余额与流水不一致 / {len(differences)} balances differ "
            "from the ledger (run without --check to repair)"
        )
