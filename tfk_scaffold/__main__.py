from tfk_scaffold.cli import main

main()
